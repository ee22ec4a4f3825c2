import os from 'node:os';
import type { BenchFigure, BenchSection } from './types.js';

/** Everything one `pnpm bench` run produced, as written to the JSON file. */
export interface BenchReport {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  quick: boolean;
  sections: BenchSection[];
  failures: { section: string; error: string }[];
}

/** Describes this machine for the report header. */
export function describeMachine(): BenchReport['machine'] {
  const cpus = os.cpus();

  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(value === Math.trunc(value) ? 0 : 3);
}

function ratio(figure: BenchFigure): string {
  if (figure.peer === undefined || figure.peer.value === 0) return '';
  return `${(figure.value / figure.peer.value).toFixed(2)}x`;
}

function verdict(figure: BenchFigure): string {
  if (figure.met === undefined) return '';
  return figure.met ? 'met' : '**not met**';
}

function sectionTable(section: BenchSection): string {
  const rows = section.figures.map((f) => {
    const peer = f.peer === undefined ? '' : `${formatNumber(f.peer.value)} (${f.peer.name})`;
    const cells = [f.name, `${formatNumber(f.value)} ${f.unit}`, peer, ratio(f), f.target ?? '', verdict(f)];
    return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  });
  const notes = (section.notes ?? []).map((n) => `- ${n}`);

  return [
    `## ${section.section}`,
    '',
    '| figure | Kefu | peer (same run) | ratio | target | |',
    '|---|---|---|---|---|---|',
    ...rows,
    ...(notes.length > 0 ? ['', ...notes] : []),
    '',
  ].join('\n');
}

/** Renders the report as the Markdown of BENCHMARKS.md. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const head = [
    '# Benchmarks',
    '',
    'Written by `pnpm bench` (`bench/src/run.ts`); the raw numbers are in',
    '`bench/results/latest.json`. Each peer is measured in the same run on the same',
    'machine, so compare ratios rather than absolute figures across runs.',
    '',
    `- Date: ${report.date}${report.quick ? ' (quick run: smaller sizes)' : ''}`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}`,
    `- Node.js: ${m.node}`,
    '',
  ];
  const failures = report.failures.map((f) => `- section \`${f.section}\` failed: ${f.error}`);

  return [
    ...head,
    ...report.sections.map(sectionTable),
    ...(failures.length > 0 ? ['## Failed sections', '', ...failures, ''] : []),
  ].join('\n');
}
