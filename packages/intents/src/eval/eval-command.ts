import { parseArgs } from 'node:util';

import { KefuError, isKefuError, type NluProvider } from '@kefu/core';

import { ClassicNlu } from '../classic/classic-nlu.js';
import { readDataset } from './dataset.js';
import { evaluate, type EvalReport } from './evaluate.js';

/** Where the eval command writes: `process` fits. */
export interface EvalCommandIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

const USAGE = `Usage: kefu eval --train A.jsonl --test B.jsonl [--provider classic|embedding|http]
                 [--option key=value ...] [--json]

  --train FILE      training data, JSON Lines of {"text", "intent"}
  --test FILE       test data, same format ("oos" marks out-of-scope rows)
  --provider NAME   classic (default), embedding or http
  --option K=V      a provider option; V is parsed as JSON when it can be
                    (also KEFU_NLU_OPTIONS, a JSON object, read first)
  --json            print exactly one JSON object instead of the report
`;

// The other providers load on demand, so `kefu eval` with the default one
// never pays for the embedding runtime's import.
const PROVIDERS: Record<string, (options: Record<string, unknown>) => Promise<NluProvider>> = {
  classic: async (o) => new ClassicNlu(o),
  embedding: async (o) => {
    const { EmbeddingNlu } = await import('../embedding/embedding-nlu.js');
    return new EmbeddingNlu(o);
  },
  http: async (o) => {
    const { HttpNlu } = await import('../http/http-nlu.js');
    return new HttpNlu(o as unknown as ConstructorParameters<typeof HttpNlu>[0]);
  },
};

function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function providerOptions(pairs: readonly string[], env: string | undefined): Record<string, unknown> {
  let options: Record<string, unknown> = {};
  if (env !== undefined && env.trim() !== '') {
    const parsed = parseValue(env);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new KefuError('INTENTS_OPTIONS_INVALID', 'KEFU_NLU_OPTIONS must be a JSON object');
    }
    options = { ...(parsed as Record<string, unknown>) };
  }
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new KefuError('INTENTS_OPTIONS_INVALID', `--option expects key=value, got "${pair}"`);
    options[pair.slice(0, at)] = parseValue(pair.slice(at + 1));
  }

  return options;
}

const pct = (v: number | null): string => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);

function formatReport(r: EvalReport): string {
  const lines = [
    `provider           ${r.provider}`,
    `train / test rows  ${r.counts.train} / ${r.counts.test} (in scope ${r.counts.testInScope}, oos ${r.counts.testOos}); intents ${r.counts.intents}`,
    `in-scope accuracy  ${pct(r.inScopeAccuracy)}`,
    `oos recall         ${pct(r.oosRecall)}`,
    `oos precision      ${pct(r.oosPrecision)}`,
    `accuracy (micro-F1) ${pct(r.accuracy)}`,
    `macro F1           ${pct(r.macroF1)}`,
    `train time         ${r.trainMs} ms`,
    `classifications/s  ${r.classifyPerSec}`,
    '',
    'per-intent F1 (worst first):',
  ];
  const intents = Object.entries(r.perIntent).sort(([, a], [, b]) => a.f1 - b.f1);
  for (const [intent, m] of intents) {
    lines.push(`  ${m.f1.toFixed(3)}  p=${m.precision.toFixed(3)} r=${m.recall.toFixed(3)} n=${m.support}  ${intent}`);
  }
  lines.push('', 'most confused (gold -> predicted):');
  for (const p of r.confusedPairs) lines.push(`  ${p.count}  ${p.gold} -> ${p.predicted}`);

  return `${lines.join('\n')}\n`;
}

/**
 * The `kefu eval` command: trains a provider on one JSON Lines file, tests it
 * on another and prints the report (or one JSON object with `--json`).
 *
 * @returns the exit code: 0 on success, 1 on bad arguments or input files
 *   (the message names the bad line), 2 when the provider fails.
 */
export async function runEvalCommand(argv: string[], io: EvalCommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        train: { type: 'string' },
        test: { type: 'string' },
        provider: { type: 'string', default: 'classic' },
        option: { type: 'string', multiple: true, default: [] },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr.write(`kefu eval: ${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }

  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (values.train === undefined || values.test === undefined) {
    io.stderr.write(`kefu eval: --train and --test are required\n\n${USAGE}`);
    return 1;
  }
  const make = PROVIDERS[values.provider];
  if (make === undefined) {
    io.stderr.write(`kefu eval: unknown provider "${values.provider}" (classic, embedding, http)\n`);
    return 1;
  }

  let provider: NluProvider;
  let train;
  let test;
  try {
    provider = await make(providerOptions(values.option, process.env.KEFU_NLU_OPTIONS));
    train = await readDataset(values.train);
    test = await readDataset(values.test);
  } catch (err) {
    io.stderr.write(`kefu eval: ${isKefuError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
    return 1;
  }

  try {
    const report = await evaluate(provider, train, test);
    io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return 0;
  } catch (err) {
    io.stderr.write(`kefu eval: ${isKefuError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
    return 2;
  } finally {
    await provider.close?.();
  }
}
