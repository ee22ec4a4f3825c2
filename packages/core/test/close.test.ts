import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./fixtures/exit-after-close.ts', import.meta.url));

describe('engine.close()', () => {
  it('lets the process exit by itself', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=@kefu/source', '--import', 'tsx', script],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';

    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));

    // A process still held open by a timer or a watcher would never exit:
    // give it a generous bound, then kill it and fail.
    const code = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);

      child.on('exit', (exitCode) => {
        clearTimeout(guard);
        resolve(exitCode);
      });
    });

    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.trim()).toBe('Hello!');
  });
});
