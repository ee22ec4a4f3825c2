import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

import { build } from 'esbuild';

/** Folder, beside each TypeScript plugin, that holds its transpiled module. */
export const CACHE_DIR = '.kefu-cache';

/** Whether a plugin file needs transpiling before `import()`. */
export function isTypeScript(file: string): boolean {
  const ext = extname(file);

  return ext === '.ts' || ext === '.mts';
}

/**
 * Transpiles a TypeScript plugin with esbuild into `.kefu-cache/` beside it
 * and returns the path of the JavaScript file.
 *
 * The plugin is bundled with its relative imports (helpers written in
 * TypeScript would not load otherwise) while every package import stays a
 * bare import; since the cache folder sits beside the plugin, those resolve
 * from the same `node_modules` the plugin itself would use.
 */
export async function transpilePlugin(file: string): Promise<string> {
  const out = join(dirname(file), CACHE_DIR, `${basename(file, extname(file))}.mjs`);
  const result = await build({
    entryPoints: [file],
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    outfile: out,
  });
  const output = result.outputFiles[0];

  if (output === undefined) throw new Error(`esbuild produced no output for ${file}`);

  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, output.contents);

  return out;
}
