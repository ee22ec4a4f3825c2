import { readFileSync } from 'node:fs';

/**
 * The soft open-files limit of this process, read from `/proc/self/limits`
 * (Linux); `undefined` where that file does not exist or says "unlimited".
 */
export function openFilesLimit(): number | undefined {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    const value = Number(soft);

    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The default global connection cap: a few hundred below the open-files
 * limit, so that log files, plugin reloads and `/proc` reads still work when
 * the server is full (at the limit even `process.memoryUsage()` fails).
 */
export function defaultMaxConnections(): number {
  const limit = openFilesLimit();

  return limit === undefined ? 10_000 : Math.max(16, limit - 300);
}
