import { isKefuError } from '@kefu/core';
import { loadConfig } from './config.js';
import { startServer } from './server.js';

/** Streams the command writes to: `process.stdout`/`stderr`, or test doubles. */
export interface CommandIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

const DRAIN_LIMIT_MS = 10_000;

const SERVE_USAGE = `Usage: kefu serve [options]   (also: pnpm start [options])

  --config FILE           settings file, YAML or JSON (also KEFU_CONFIG)
  --port, -p N            HTTP and WebSocket port, 0 for any (PORT, default 8080)
  --host ADDR             interface to bind (HOST, default 127.0.0.1)
  --plugins DIR           plugin folder (KEFU_PLUGINS_DIR, default examples/plugins)
  --rules FILE            rules file (KEFU_RULES_FILE, default examples/server/rules.yaml)
  --timezone ZONE         zone of the business hours (KEFU_TIMEZONE, default Asia/Shanghai)
  --business-hours H-H    opening hours, HH:MM-HH:MM (KEFU_BUSINESS_HOURS)
  --threshold X           confidence an intent needs, 0-1 (KEFU_THRESHOLD)
  --log-level LEVEL       fatal ... trace, or silent (LOG_LEVEL, default info)
  --no-watch              do not reload plugins and rules when they change
  --no-offer-human        the out-of-scope answer offers no human agent

Every setting, and the ones only the environment sets (KEFU_AGENT_TOKEN,
KEFU_SECRET, ...), is described in examples/README.md.
`;

/**
 * `kefu serve` / `pnpm start`: loads the configuration, starts the server,
 * prints where to find it, and drains on SIGTERM or SIGINT. Resolves with
 * the exit code once the server stopped; a bad configuration resolves with
 * 2 after printing the setting at fault.
 */
export async function serve(argv: readonly string[], io: CommandIo = process): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(SERVE_USAGE);
    return 0;
  }

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
