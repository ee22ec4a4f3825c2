// Runs one benchmark section in this process and writes its result as JSON
// to the file named on the command line. The runner starts one process per
// section so that heap and RSS figures of one section never include another's.
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { BenchContext, BenchSectionRun } from './types.js';

const [name, outFile, datasets, quick] = process.argv.slice(2);

if (name === undefined || outFile === undefined || datasets === undefined) {
  process.stderr.write('usage: section-main.ts <section> <out.json> <datasets> [quick]\n');
  process.exit(2);
}

const ctx: BenchContext = {
  datasets,
  quick: quick === 'quick',
  log: (message) => process.stderr.write(`[${name}] ${message}\n`),
};

const url = pathToFileURL(new URL(`./${name}.ts`, import.meta.url).pathname).href;
const mod = (await import(url)) as { default: BenchSectionRun };
const result = await mod.default(ctx);

await writeFile(outFile, JSON.stringify(result));
// Sections may leave servers or workers behind; the result is safe on disk.
process.exit(0);
