import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { loadConfig } from '../src/config.js';
import type { ServerConfigInput } from '../src/config.js';
import { startServer } from '../src/server.js';
import type { RunningServer } from '../src/server.js';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const EXAMPLES = resolve(HERE, '../..');
export const AGENT_TOKEN = 'test-agent-token';

/** A throw-away folder with a copy of some example plugins and of the rules file. */
export interface WorkDir {
  dir: string;
  pluginsDir: string;
  rulesFile: string;
}

/**
 * Makes a {@link WorkDir}. It sits under test/.tmp (git-ignored) rather than
 * in the OS temp folder, so that the plugins' `@kefu/core` import resolves
 * through the workspace as it does in examples/plugins.
 */
export async function makeWorkDir(plugins: readonly string[]): Promise<WorkDir> {
  const base = join(HERE, '.tmp');

  await mkdir(base, { recursive: true });

  const dir = await mkdtemp(join(base, 'server-'));
  const pluginsDir = join(dir, 'plugins');
  const rulesFile = join(dir, 'rules.yaml');

  await mkdir(pluginsDir);
  for (const file of plugins) await cp(join(EXAMPLES, 'plugins', file), join(pluginsDir, file));
  await cp(join(EXAMPLES, 'server/rules.yaml'), rulesFile);

  return { dir, pluginsDir, rulesFile };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Starts the example server on a free loopback port with test settings. */
export async function startTestServer(
  overrides: ServerConfigInput = {},
  logger: Logger = pino({ level: 'silent' }),
): Promise<RunningServer> {
  const config = loadConfig({
    env: {},
    overrides: {
      port: 0,
      host: '127.0.0.1',
      agentToken: AGENT_TOKEN,
      logLevel: 'silent',
      ...overrides,
    },
  });

  return startServer(config, { logger });
}

type Frame = Record<string, unknown> & { type: string };

/** A WebSocket client that keeps every frame and awaits frames by predicate. */
export class TestClient {
  readonly frames: Frame[] = [];
  private readonly ws: WebSocket;
  private waiters: { test: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private cursor = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;

      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
  }

  static async open(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);

    await new Promise<void>((resolveOpen, reject) => {
      ws.once('open', () => resolveOpen());
      ws.once('error', reject);
    });

    return new TestClient(ws);
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** The next frame (after the last one awaited) that passes `test`. */
  next(test: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const index = this.frames.findIndex((f, i) => i >= this.cursor && test(f));

    if (index >= 0) {
      this.cursor = index + 1;
      return Promise.resolve(this.frames[index]!);
    }

    return new Promise<Frame>((resolveFrame, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching frame in time')), timeoutMs);

      this.waiters.push({
        test,
        resolve: (f) => {
          clearTimeout(timer);
          this.cursor = this.frames.length;
          resolveFrame(f);
        },
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}
