// Section `nlu`: ClassicNlu against NLP.js (node-nlp 4.27, the strongest
// JavaScript peer) on the same public data: accuracy, out-of-scope recall,
// training time, classifications per second and peak memory. Each provider
// and data set runs in a child process of its own, so that one's heap and
// RSS never count in another's figures.
import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TrainingExample } from '@kefu/core';
import { ClassicNlu, parseDataset, scorePredictions } from '@kefu/intents';

import type { BenchContext, BenchFigure, BenchSection, BenchSectionRun } from './types.js';

type Provider = 'classic' | 'nlpjs';

/** What one child process measures. */
interface Measurement {
  provider: Provider;
  inScopeAccuracy: number | null;
  oosRecall: number | null;
  microF1: number;
  trainMs: number;
  /** CPU time of the training (user + system), less sensitive to a busy machine than wall time. */
  trainCpuMs: number;
  classifyPerSec: number;
  /** Peak resident set size of the child up to the end of training. */
  peakRssMb: number;
  modelFileMb?: number;
  test: number;
}

/** A named train/test pairing; Braun's three corpora are trained separately and pooled. */
interface Job {
  name: string;
  language: 'en' | 'zh';
  pairs: { train: string; test: string }[];
  /** Keep only the first N in-scope intents (and all oos rows): the quick run. */
  maxIntents?: number;
}

const self = fileURLToPath(import.meta.url);

async function load(file: string): Promise<TrainingExample[]> {
  return parseDataset(await readFile(file, 'utf8'), file);
}

function keepIntents(rows: TrainingExample[], allowed: Set<string>): TrainingExample[] {
  return rows.filter((r) => r.intent === 'oos' || allowed.has(r.intent));
}

/**
 * NLP.js has no out-of-scope class: its `None` (below its own threshold, or
 * the class trained from `None` rows) is scored as `noneMeans`, the data set's
 * own name for "none of the intents".
 */
async function makeNlpjs(
  language: string,
  noneMeans: string,
): Promise<{
  add(text: string, intent: string): void;
  train(): Promise<void>;
  classify(text: string): Promise<string>;
}> {
  // node-nlp ships no type declarations; a variable specifier keeps tsc from
  // looking for them, and the cast below names what this file uses.
  const specifier = 'node-nlp';
  const { NlpManager } = (await import(specifier)) as {
    NlpManager: new (o: Record<string, unknown>) => {
      addDocument(lang: string, text: string, intent: string): void;
      train(): Promise<void>;
      process(lang: string, text: string): Promise<{ intent?: string }>;
    };
  };
  const manager = new NlpManager({ languages: [language], autoSave: false, autoLoad: false, nlu: { log: false } });

  return {
    add: (text, intent) => manager.addDocument(language, text, intent),
    train: () => manager.train(),
    classify: async (text) => {
      const intent = (await manager.process(language, text)).intent;
      return intent === undefined || intent === 'None' ? noneMeans : intent;
    },
  };
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

/** Runs in the child: trains and tests one provider on one job. */
async function measure(provider: Provider, job: Job): Promise<Measurement> {
  const gold: TrainingExample[] = [];
  const predicted: string[] = [];
  let trainMs = 0;
  let trainCpuMs = 0;
  let classifyMs = 0;
  let peakRssMb = 0;
  let modelFileMb: number | undefined;

  for (const pair of job.pairs) {
    let train = await load(pair.train);
    let test = await load(pair.test);
    if (job.maxIntents !== undefined) {
      const intents = new Set([...new Set(train.map((r) => r.intent))].filter((i) => i !== 'oos').slice(0, job.maxIntents));
      train = keepIntents(train, intents);
      test = keepIntents(test, intents);
    }

    let classify: (text: string) => Promise<string>;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (provider === 'classic') {
      const nlu = new ClassicNlu();
      await nlu.train(train);
      trainMs += performance.now() - t0;
      trainCpuMs += cpuMs(process.cpuUsage(cpu0));
      peakRssMb = Math.max(peakRssMb, process.resourceUsage().maxRSS / 1024);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'kefu-bench-nlu-'));
      await nlu.save(path.join(dir, 'model.kefunlu'));
      modelFileMb = Math.max(modelFileMb ?? 0, (await stat(path.join(dir, 'model.kefunlu'))).size / 1e6);
      await rm(dir, { recursive: true, force: true });
      classify = async (text) => (await nlu.classify(text))[0]?.intent ?? 'oos';
    } else {
      // Braun 2017 has a class named `None` of its own; there, NLP.js's
      // `None` is that class, not out of scope.
      const noneMeans = train.some((r) => r.intent === 'None') ? 'None' : 'oos';
      const nlp = await makeNlpjs(job.language, noneMeans);
      for (const r of train) nlp.add(r.text, r.intent === 'oos' ? 'None' : r.intent);
      await nlp.train();
      trainMs += performance.now() - t0;
      trainCpuMs += cpuMs(process.cpuUsage(cpu0));
      peakRssMb = Math.max(peakRssMb, process.resourceUsage().maxRSS / 1024);
      classify = nlp.classify;
    }

    // A warm-up pass first, so both providers are timed with compiled code.
    for (const r of test.slice(0, 500)) await classify(r.text);
    const c0 = performance.now();
    for (const r of test) predicted.push(await classify(r.text));
    classifyMs += performance.now() - c0;
    gold.push(...test);
  }

  const s = scorePredictions(gold, predicted);

  return {
    provider,
    inScopeAccuracy: s.inScopeAccuracy,
    oosRecall: s.oosRecall,
    microF1: s.microF1,
    trainMs,
    trainCpuMs,
    classifyPerSec: (gold.length / classifyMs) * 1000,
    peakRssMb,
    ...(modelFileMb === undefined ? {} : { modelFileMb }),
    test: gold.length,
  };
}

/** Starts this file as a child that measures one provider on one job. */
function runChild(provider: Provider, job: Job, timeoutMs: number, log: (m: string) => void): Promise<Measurement | undefined> {
  const args = ['--conditions=@kefu/source', '--expose-gc', '--import', 'tsx', self, 'child', provider, JSON.stringify(job)];

  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        log(`${provider} on ${job.name}: ${signal === 'SIGKILL' ? `over ${timeoutMs / 1000} s, stopped` : `exit ${code}`}`);
        resolve(undefined);
        return;
      }
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Measurement);
    });
  });
}

const pct = (v: number | null | undefined): number => (v === null || v === undefined ? Number.NaN : Math.round(v * 10000) / 100);
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

function figure(
  name: string,
  value: number,
  unit: string,
  peer: number | undefined,
  target?: { text: string; met: (v: number) => boolean },
): BenchFigure {
  return {
    name,
    value,
    unit,
    ...(peer === undefined || Number.isNaN(peer) ? {} : { peer: { name: 'NLP.js 4.27', value: peer } }),
    ...(target === undefined ? {} : { target: target.text, met: target.met(value) }),
  };
}

const run: BenchSectionRun = async (ctx: BenchContext): Promise<BenchSection> => {
  const d = (p: string): string => path.join(ctx.datasets, p);
  const clinc: Job = {
    name: ctx.quick ? 'CLINC150 (first 30 intents)' : 'CLINC150',
    language: 'en',
    pairs: [{ train: d('clinc150/train.jsonl'), test: d('clinc150/val.jsonl') }],
    ...(ctx.quick ? { maxIntents: 30 } : {}),
  };
  const braun: Job = {
    name: 'Braun 2017',
    language: 'en',
    pairs: ['ChatbotCorpus', 'AskUbuntuCorpus', 'WebApplicationsCorpus'].map((c) => ({
      train: d(`braun2017/${c}/train.jsonl`),
      test: d(`braun2017/${c}/test.jsonl`),
    })),
  };
  const smp: Job = {
    name: 'SMP2020-ECDT',
    language: 'zh',
    pairs: [{ train: d('smp2020_ecdt/train.jsonl'), test: d('smp2020_ecdt/val.jsonl') }],
  };

  // The runner stops this section after 330 s (165 s quick): ClassicNlu's
  // runs go first, and each child gets at most what is left of the budget, so
  // a slow NLP.js run on a busy machine costs its peer figures, not ours.
  const deadline = Date.now() + (ctx.quick ? 150_000 : 310_000);
  const within = (ms: number): number => Math.max(1_000, Math.min(ms, deadline - Date.now()));

  ctx.log(`ClassicNlu on ${clinc.name}, Braun 2017 and SMP2020-ECDT`);
  const classic = await runChild('classic', clinc, within(120_000), ctx.log);
  const braunClassic = await runChild('classic', braun, within(60_000), ctx.log);
  const smpClassic = await runChild('classic', smp, within(60_000), ctx.log);
  ctx.log('NLP.js on Braun 2017');
  const braunNlpjs = await runChild('nlpjs', braun, within(60_000), ctx.log);
  ctx.log(`NLP.js on ${clinc.name} (34 to 210 s for the full set, depending on the load)`);
  const nlpjs = await runChild('nlpjs', clinc, within(280_000), ctx.log);

  const figures: BenchFigure[] = [];
  const full = !ctx.quick;
  const gate = (text: string, met: (v: number) => boolean) => (full ? { text, met } : undefined);
  if (classic !== undefined) {
    const c = clinc.name;
    figures.push(
      figure(`${c} val in-scope accuracy`, pct(classic.inScopeAccuracy), '%', pct(nlpjs?.inScopeAccuracy), gate('>= 93.0%', (v) => v >= 93)),
      figure(`${c} val oos recall`, pct(classic.oosRecall), '%', pct(nlpjs?.oosRecall), gate('>= 60%', (v) => v >= 60)),
      figure(`${c} training time`, round(classic.trainMs / 1000, 2), 's', nlpjs && round(nlpjs.trainMs / 1000, 2), gate('<= 10 s', (v) => v <= 10)),
      figure(`${c} training CPU time`, round(classic.trainCpuMs / 1000, 2), 's', nlpjs && round(nlpjs.trainCpuMs / 1000, 2), gate('<= 10 s', (v) => v <= 10)),
      figure(`${c} classifications per second`, Math.round(classic.classifyPerSec), '/s', nlpjs && Math.round(nlpjs.classifyPerSec), gate('>= 20,000/s', (v) => v >= 20_000)),
      figure(`${c} peak RSS while training`, Math.round(classic.peakRssMb), 'MB', nlpjs && Math.round(nlpjs.peakRssMb), gate('<= 500 MB', (v) => v <= 500)),
      figure(`${c} model file`, round(classic.modelFileMb ?? Number.NaN, 2), 'MB', undefined, gate('<= 20 MB', (v) => v <= 20)),
    );
  }
  if (braunClassic !== undefined) {
    figures.push(
      figure('Braun 2017 micro-F1 (three corpora pooled)', round(braunClassic.microF1, 3), '', braunNlpjs && round(braunNlpjs.microF1, 3), {
        text: '>= 0.95',
        met: (v) => v >= 0.95,
      }),
    );
  }
  if (smpClassic !== undefined) {
    figures.push(
      figure('SMP2020-ECDT val accuracy', pct(smpClassic.inScopeAccuracy), '%', undefined, { text: '>= 90%', met: (v) => v >= 90 }),
    );
  }

  return {
    section: 'nlu',
    figures,
    notes: [
      'Trained on `train`, tested on `val` (Braun: on each corpus\'s `test`, predictions pooled); one child process per provider and data set.',
      'NLP.js has no out-of-scope class: its `None` answer (below its own score threshold) counts as `oos`, and CLINC150\'s `oos` training rows are given to it as `None`; on a data set with a class named `None` (Braun 2017), its `None` answer counts as that class.',
      'Training time is wall time; training CPU time (user + system) is the same work measured in CPU seconds, less inflated when other processes share the two cores.',
      'Peak RSS is the child\'s maximum resident set size at the end of training (process.resourceUsage().maxRSS), module loading included.',
      'Classifications per second: one text at a time through the async `classify()` / `process()` API, on one core; the machine is shared, so compare with the peer of the same run.',
      ...(ctx.quick ? ['Quick run: CLINC150 cut to its first 30 intents, so targets are not checked.'] : []),
      ...(nlpjs === undefined ? ['NLP.js did not finish on CLINC150 within its time limit: no peer figures.'] : []),
    ],
  };
};

export default run;

if (process.argv[1] === self && process.argv[2] === 'child') {
  const provider = process.argv[3] as Provider;
  const job = JSON.parse(process.argv[4]!) as Job;
  const result = await measure(provider, job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
