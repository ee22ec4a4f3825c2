// `pnpm bench [--quick] [--only core,rules] [--datasets DIR]`: runs every
// benchmark section in its own process, then writes BENCHMARKS.md and
// bench/results/latest.json at the repository root.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, renderMarkdown, type BenchReport } from './report.js';
import type { BenchSection } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

/** The whole run stays under ten minutes, whatever the sections ask for. */
const TOTAL_BUDGET_MS = 570_000;

/** Sections in run order, each with the most time it may take. */
const SECTIONS: { name: string; budgetMs: number }[] = [
  { name: 'core', budgetMs: 150_000 },
  { name: 'rules', budgetMs: 90_000 },
  { name: 'nlu', budgetMs: 330_000 },
  { name: 'ws', budgetMs: 240_000 },
];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    datasets: { type: 'string', default: path.resolve(root, '../shared/datasets') },
  },
});

const only = values.only?.split(',').map((s) => s.trim());
const wanted = SECTIONS.filter((s) => only === undefined || only.includes(s.name));

function runSection(name: string, budgetMs: number, outFile: string): Promise<void> {
  const args = [
    '--conditions=@kefu/source',
    '--expose-gc',
    '--max-old-space-size=8192',
    '--import',
    'tsx',
    path.join(here, 'section-main.ts'),
    name,
    outFile,
    values.datasets,
    values.quick ? 'quick' : 'full',
  ];

  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), budgetMs);

    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(signal === 'SIGKILL' ? `over its ${Math.round(budgetMs / 1000)} s budget` : `exit ${code}`));
    });
  });
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'kefu-bench-'));
const report: BenchReport = {
  date: new Date().toISOString(),
  machine: describeMachine(),
  quick: values.quick,
  sections: [],
  failures: [],
};

const deadline = Date.now() + TOTAL_BUDGET_MS;

for (const { name, budgetMs } of wanted) {
  if (!existsSync(path.join(here, `${name}.ts`))) continue;

  const budget = Math.min(values.quick ? budgetMs / 2 : budgetMs, deadline - Date.now());
  if (budget <= 0) {
    report.failures.push({ section: name, error: 'not run: the ten-minute budget of the whole run was spent' });
    continue;
  }

  const outFile = path.join(tmp, `${name}.json`);
  process.stderr.write(`bench: ${name}\n`);
  try {
    await runSection(name, budget, outFile);
    report.sections.push(JSON.parse(await readFile(outFile, 'utf8')) as BenchSection);
  } catch (err) {
    report.failures.push({ section: name, error: (err as Error).message });
  }
}

await rm(tmp, { recursive: true, force: true });
await mkdir(path.join(root, 'bench/results'), { recursive: true });
await writeFile(path.join(root, 'bench/results/latest.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(root, 'BENCHMARKS.md'), renderMarkdown(report));
process.stdout.write(renderMarkdown(report));
process.exitCode = report.failures.length > 0 ? 1 : 0;
