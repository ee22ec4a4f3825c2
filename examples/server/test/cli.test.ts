import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { serve } from '../src/serve.js';
import { EXAMPLES, HERE, makeWorkDir, removeDir } from './helpers.js';
import type { WorkDir } from './helpers.js';

const ROOT = resolve(EXAMPLES, '..');
const MAIN = join(EXAMPLES, 'server/src/main.ts');

function memoryIo() {
  const out: string[] = [];
  const err: string[] = [];

  return {
    io: {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

/** Runs `pnpm start` as a child process, as a host would. */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=@kefu/source', '--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';

  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('kefu command', () => {
  it('prints usage for help and refuses an unknown command', async () => {
    const help = memoryIo();
    const unknown = memoryIo();

    expect(await runCli(['help'], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/serve.*\n.*eval/s);
    // bench/src/run.ts takes its sections as --only, not as positional arguments.
    expect(help.stdout()).toContain('bench [--quick] [--only ');
    expect(await runCli(['frobnicate'], unknown.io)).toBe(1);
    expect(unknown.stderr()).toContain('frobnicate');
  });

  it('prints the flags of serve for --help and -h without starting', async () => {
    for (const flag of ['--help', '-h']) {
      const out = memoryIo();

      expect(await runCli(['serve', flag], out.io)).toBe(0);
      expect(out.stdout()).toContain('--port');
      expect(out.stdout()).toContain('--no-watch');
      expect(out.stderr()).toBe('');
    }
  });

  it('runs the eval tool of @kefu/intents', async () => {
    const out = memoryIo();
    const code = await runCli(
      [
        'eval',
        '--train',
        join(HERE, 'fixtures/eval-train.jsonl'),
        '--test',
        join(HERE, 'fixtures/eval-test.jsonl'),
        '--json',
      ],
      out.io,
    );

    expect(code).toBe(0);
    expect(JSON.parse(out.stdout())).toMatchObject({
      inScopeAccuracy: expect.any(Number),
      macroF1: expect.any(Number),
    });
  });
});

describe('pnpm start (main.ts)', () => {
  let work: WorkDir;

  beforeAll(async () => {
    work = await makeWorkDir(['greeting.js']);
  });

  afterAll(async () => {
    await removeDir(work.dir);
  });

  it('gives up with one line, and nothing left open, when the port is taken', async () => {
    const blocker = createServer();

    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));

    const { port } = blocker.address() as AddressInfo;
    const out = memoryIo();
    const args = ['--port', String(port), '--host', '127.0.0.1', '--log-level', 'silent'];
    const code = await serve(
      [...args, '--no-watch', '--plugins', work.pluginsDir, '--rules', work.rulesFile],
      out.io,
    );

    blocker.close();
    expect(code).toBe(1);
    expect(out.stderr()).toMatch(/^kefu: could not start: EADDRINUSE: .*\n$/);
  });

  it('exits non-zero with SERVER_CONFIG_INVALID naming a bad setting', async () => {
    const run = startMain({ PORT: 'not-a-port' });

    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('SERVER_CONFIG_INVALID');
    expect(run.stderr()).toContain('PORT');
  });

  it('prints the widget and console URLs, then drains and exits on SIGTERM', async () => {
    const run = startMain({
      PORT: '0',
      HOST: '127.0.0.1',
      KEFU_PLUGINS_DIR: work.pluginsDir,
      KEFU_RULES_FILE: work.rulesFile,
      KEFU_WATCH: 'false',
      LOG_LEVEL: 'warn',
    });
    const url = await new Promise<string>((found, failed) => {
      const onData = (): void => {
        const match = /Widget demo\s+(http:\/\/\S+)\//.exec(run.stdout());

        if (match?.[1] === undefined) return;
        run.child.stdout.off('data', onData);
        found(match[1]);
      };

      run.child.stdout.on('data', onData);
      void run.exited.then(() => failed(new Error(`exited early: ${run.stderr()}`)));
    });

    expect(run.stdout()).toContain(`${url}/agent`);
    expect(run.stdout()).toMatch(/DEVELOPMENT DEFAULT/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
