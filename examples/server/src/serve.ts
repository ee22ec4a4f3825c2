import { isKefuError } from '@kefu/core';
import { loadConfig } from './config.js';
import { startServer } from './server.js';

/** Streams the command writes to: `process.stdout`/`stderr`, or test doubles. */
export interface CommandIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

const DRAIN_LIMIT_MS = 10_000;

/**
 * `kefu serve` / `pnpm start`: loads the configuration, starts the server,
 * prints where to find it, and drains on SIGTERM or SIGINT. Resolves with
 * the exit code once the server stopped; a bad configuration resolves with
 * 2 after printing the setting at fault.
 */
export async function serve(argv: readonly string[], io: CommandIo = process): Promise<number> {
  let config;

  try {
    config = loadConfig({ argv, env: process.env });
  } catch (err) {
    if (!isKefuError(err)) throw err;
    io.stderr.write(`kefu: ${err.code}: ${err.message}\n`);
    return 2;
  }

  let server;

  try {
    server = await startServer(config);
  } catch (err) {
    // Start-up failures a host can fix (a missing folder, a port in use) get
    // one line, not a stack trace.
    const code = (err as { code?: unknown }).code;
    const prefix = typeof code === 'string' ? `${code}: ` : '';

    io.stderr.write(`kefu: could not start: ${prefix}${(err as Error).message}\n`);
    return 1;
  }

  const lines = [
    '',
    '  Kefu example server',
    `  Widget demo    ${server.url}/`,
    `  Agent console  ${server.url}/agent`,
    `  Live chat      ${server.url.replace(/^http/, 'ws')}/ws`,
    `  Probes         ${server.url}/healthz  ${server.url}/readyz  ${server.url}/metrics`,
    config.isDevAgentToken
      ? `  Agent token    ${config.agentToken}   ` +
        '(DEVELOPMENT DEFAULT: set KEFU_AGENT_TOKEN before exposing this server)'
      : '  Agent token    from KEFU_AGENT_TOKEN',
    '',
  ];

  io.stdout.write(`${lines.join('\n')}\n`);

  return new Promise<number>((resolveExit) => {
    const stop = (signal: NodeJS.Signals): void => {
      server.logger.info({ signal }, 'draining');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      // A second signal, or a drain that hangs, ends the process anyway.
      process.once(signal, () => resolveExit(130));
      const timer = setTimeout(() => {
        server.logger.error({ limitMs: DRAIN_LIMIT_MS }, 'drain took too long, exiting');
        resolveExit(1);
      }, DRAIN_LIMIT_MS);
      timer.unref();
      server.close().then(
        () => {
          server.logger.info({}, 'stopped');
          resolveExit(0);
        },
        (err: unknown) => {
          server.logger.error({ err }, 'close failed');
          resolveExit(1);
        },
      );
    };

    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
