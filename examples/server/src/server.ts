import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '@kefu/core';
import type { Engine } from '@kefu/core';
import { ClassicNlu } from '@kefu/intents';
import { loadRules } from '@kefu/rules';
import { createChatServer } from '@kefu/transport-ws';
import type { ChatServer } from '@kefu/transport-ws';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { createRequestHandler } from './routes.js';

/** How long HTTP requests in flight may finish once the server is closing. */
const HTTP_GRACE_MS = 1_000;

const PUBLIC_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../public');

/** A running example server. */
export interface RunningServer {
  /** The base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  engine: Engine;
  chat: ChatServer;
  logger: Logger;
  /** Resolves once the NLU has trained (`/readyz` turns 200). */
  ready: Promise<void>;
  /** Drains the live chat, stops the HTTP server and closes the engine. */
  close(): Promise<void>;
}

/** What {@link startServer} takes besides the configuration. */
export interface StartOptions {
  /** A pino logger to use instead of a new one (tests pass a silent one). */
  logger?: Logger;
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();

  return timingSafeEqual(a, b);
}

function agentId(name: string | undefined): string {
  const slug = (name ?? 'agent')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .slice(0, 40);

  return `agent:${slug || 'agent'}`;
}

/**
 * Wires the concrete pieces together: pino, the rules file, the classic NLU,
 * the engine with the plugins folder, the live chat on `/ws` and the HTTP
 * routes, all on one `node:http` server.
 */
export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'kefu' } });

  // The business-hours plugin reads these when it answers; plugins get no
  // other configuration channel from the engine.
  process.env.KEFU_TIMEZONE = config.timezone;
  process.env.KEFU_BUSINESS_HOURS = config.businessHours;

  // What was opened so far, closed again if a later step fails, so that a
  // failed start leaves no watcher or socket keeping the process alive.
  const opened: (() => Promise<unknown>)[] = [];

  try {
    return await assemble(config, logger, opened);
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => {});
    throw err;
  }
}

async function assemble(
  config: ServerConfig,
  logger: Logger,
  opened: (() => Promise<unknown>)[],
): Promise<RunningServer> {
  const rules = await loadRules(config.rulesFile, {
    watch: config.watch,
    logger: logger.child({ component: 'rules' }),
  });

  opened.push(async () => rules.close?.());

  const nlu = new ClassicNlu(
    config.modelCacheDir === undefined ? {} : { modelCacheDir: config.modelCacheDir },
  );
  const engine = await createEngine({
    plugins: { dir: config.pluginsDir, watch: config.watch },
    nlu: { provider: nlu },
    rules,
    ...(config.threshold === undefined ? {} : { threshold: config.threshold }),
    ...(config.offerHuman
      ? {}
      : {
          outOfScopeReply: {
            en: "Sorry, I didn't get that. Could you say it another way?",
            zh: '抱歉，我没有理解您的意思，可以换个说法吗？',
          },
        }),
    logger: logger.child({ component: 'engine' }),
  });

  opened.push(() => engine.close());

  engine.on('reply.out', ({ reply }) => {
    logger.info(
      {
        sessionId: reply.sessionId,
        traceId: reply.traceId,
        intent: reply.intent,
        confidence: reply.score,
        source: reply.source,
        plugin: reply.plugin?.name,
        reason: reply.reason,
        durationMs: reply.latencyMs,
      },
      'turn answered',
    );
  });
  engine.on('plugin.loaded', ({ name, version, previousVersion }) => {
    logger.info({ pluginId: name, version, previousVersion }, 'plugin loaded');
  });
  engine.on('plugin.failed', ({ file, name, error }) => {
    logger.warn(
      { pluginId: name, file, err: error },
      'plugin failed to load, previous version serves',
    );
  });
  engine.on('error', ({ error, sessionId, traceId, plugin }) => {
    logger.error({ err: error, sessionId, traceId, pluginId: plugin }, 'plugin failed a turn');
  });
  engine.on('breaker.open', () =>
    logger.warn({ breakerState: 'open' }, 'NLU breaker open, rules answer'),
  );
  engine.on('breaker.close', () => logger.info({ breakerState: 'closed' }, 'NLU breaker closed'));

  let chat: ChatServer | undefined;
  let isAccepting = true;
  const metrics = createMetrics(engine, () => chat);
  const http = createServer(
    createRequestHandler({
      engine,
      metrics,
      publicDir: PUBLIC_DIR,
      logger: logger.child({ component: 'http' }),
      isAccepting: () => isAccepting,
      isAgentToken: (token) => sameSecret(token, config.agentToken),
    }),
  );

  chat = await createChatServer({
    engine,
    server: http,
    path: '/ws',
    ...(config.secret === undefined ? {} : { secret: config.secret }),
    // Known limit: one shared token for every agent, and the name is what
    // they type; a real deployment checks its own accounts here instead.
    verifyAgent: (token, hello) =>
      sameSecret(token, config.agentToken)
        ? { id: agentId(hello.name), ...(hello.name === undefined ? {} : { name: hello.name }) }
        : null,
    ...(config.allowedOrigins === undefined ? {} : { origins: config.allowedOrigins }),
    logger: logger.child({ component: 'chat' }),
  });

  opened.push(() => chat?.close() ?? Promise.resolve());

  await new Promise<void>((resolveListen, reject) => {
    http.once('error', reject);
    http.listen({ port: config.port, host: config.host, backlog: 4096 }, () => {
      http.off('error', reject);
      resolveListen();
    });
  });

  const { port } = http.address() as AddressInfo;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  const ready = engine.ready().then(() => {
    logger.info({ plugins: engine.plugins.list().length }, 'NLU trained, ready');
  });

  // A failed first training is logged and leaves /readyz at 503.
  ready.catch((err: unknown) => logger.error({ err }, 'NLU training failed'));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      isAccepting = false;
      await chat.close();
      await new Promise<void>((done) => {
        http.close(() => done());
        http.closeIdleConnections();
        // Browsers keep speculative sockets open that never send a request;
        // Node counts them as busy, so close() would wait for their timeout.
        setTimeout(() => http.closeAllConnections(), HTTP_GRACE_MS).unref();
      });
      await engine.close();
    })();

    return closing;
  };

  return { url, port, engine, chat, logger, ready, close };
}
