// Helpers for the tests that keep each README's tables true to the code:
// the error codes a package throws, the events it emits, the options it takes.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every non-test `.ts` file below `dir`, at any depth. */
export async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });

  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The text of every non-test `.ts` file below `dir`, joined. */
export async function sourceText(dir: string): Promise<string> {
  const files = await sourceFiles(dir);

  return (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
}

/** The sorted, distinct quoted codes with `prefix` (`'CORE_…'`) in the sources below `dir`. */
export async function codesIn(dir: string, prefix: string, skip: (file: string) => boolean = () => false): Promise<string[]> {
  const pattern = new RegExp(`'(${prefix}[A-Z0-9_]+)'`, 'g');
  const codes = new Set<string>();

  for (const file of await sourceFiles(dir)) {
    if (skip(file)) continue;
    for (const m of (await readFile(file, 'utf8')).matchAll(pattern)) codes.add(m[1] as string);
  }

  return [...codes].sort();
}

/**
 * The part of a Markdown text under the heading `title` at `level`
 * (`## title` by default), up to the next heading of that level or higher.
 * Lines inside fenced code blocks are never headings. Throws when the
 * heading is missing, so a renamed section fails loudly.
 */
export function section(markdown: string, title: string, level = 2): string {
  const lines = markdown.split('\n');
  const marker = `${'#'.repeat(level)} ${title}`;
  const out: string[] = [];
  let isFenced = false;
  let isInside = false;

  for (const line of lines) {
    if (line.startsWith('```')) isFenced = !isFenced;

    const depth = isFenced || line.startsWith('```') ? 0 : (/^(#{1,6}) /.exec(line)?.[1]?.length ?? 0);
    if (isInside && depth > 0 && depth <= level) break;
    if (isInside) out.push(line);
    if (!isInside && depth === level && line.trimEnd() === marker) isInside = true;
  }

  if (!isInside) throw new Error(`no "${marker}" heading`);

  return out.join('\n');
}

/** The backticked names in the first column of the tables of `text`, sorted. */
export function tableKeys(text: string): string[] {
  return [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string).sort();
}

/** Reads a README (or any text file). */
export function readText(file: string): Promise<string> {
  return readFile(file, 'utf8');
}
