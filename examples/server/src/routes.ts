import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { Engine } from '@kefu/core';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

// Our pages load only our scripts and talk only to us; inline styles stay
// allowed because the pages and the widget's shadow root carry their CSS.
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Pages served under a clean path. */
const PAGES: Record<string, string> = {
  '/': 'index.html',
  '/agent': 'agent.html',
  '/agent/': 'agent.html',
};

/** What the HTTP routes need from the rest of the server. */
export interface RouteContext {
  engine: Engine;
  metrics: Registry;
  publicDir: string;
  logger: Logger;
  /** False once draining has begun: `/readyz` answers 503 so balancers move on. */
  isAccepting(): boolean;
  /** Whether a bearer token is the agents' secret (for the conversation API). */
  isAgentToken(token: string): boolean;
}

const CONVERSATION_PATH = /^\/api\/conversations\/([^/]{1,128})$/;

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), CONTENT_TYPES['.json']!);
}

async function serveFile(ctx: RouteContext, res: ServerResponse, relative: string): Promise<void> {
  // normalize() folds "..": anything that still escapes the folder is refused.
  const file = normalize(join(ctx.publicDir, relative));

  if (!file.startsWith(ctx.publicDir + sep)) return sendJson(res, 404, { error: 'not found' });

  try {
    const body = await readFile(file);

    const headers: Record<string, string | number> = {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      // The pages have no build step and no hashed names: revalidate each time.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    };

    if (extname(file) === '.html') {
      headers['content-security-policy'] = PAGE_POLICY;
      headers['referrer-policy'] = 'same-origin';
    }
    res.writeHead(200, headers);
    res.end(body);
  } catch {
    sendJson(res, 404, { error: 'not found' });
  }
}

/**
 * `GET /api/conversations/:sessionId` for agents: the engine's history of a
 * session, so the console can show a waiting conversation before joining it.
 */
async function sendConversation(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  encodedId: string,
): Promise<void> {
  const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');

  if (auth?.[1] === undefined || !ctx.isAgentToken(auth[1])) {
    res.setHeader('www-authenticate', 'Bearer');
    return sendJson(res, 401, { error: 'agent token required' });
  }

  let sessionId: string;

  try {
    sessionId = decodeURIComponent(encodedId);
  } catch {
    return sendJson(res, 404, { error: 'not found' });
  }

  const session = await ctx.engine.getSession(sessionId);

  if (session === undefined) return sendJson(res, 404, { error: 'not found' });

  return sendJson(res, 200, {
    sessionId,
    turns: session.turns,
    lastIntent: session.lastIntent ?? null,
    history: session.history.map(({ from, text, at, intent }) => ({ from, text, at, intent })),
  });
}

/**
 * The HTTP side of the example server: pages, static assets, probes and
 * metrics. The live chat on `/ws` is handled by the transport on `upgrade`.
 */
export function createRequestHandler(ctx: RouteContext) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'method not allowed' });
    }

    try {
      switch (path) {
        case '/healthz':
          return sendJson(res, 200, { status: 'ok' });
        case '/readyz': {
          const isReady = ctx.engine.isReady && ctx.isAccepting();

          return sendJson(res, isReady ? 200 : 503, { status: isReady ? 'ready' : 'starting' });
        }
        case '/metrics': {
          const body = await ctx.metrics.metrics();

          return send(res, 200, body, ctx.metrics.contentType);
        }
        default: {
          const conversation = CONVERSATION_PATH.exec(path);

          if (conversation !== null) return await sendConversation(ctx, req, res, conversation[1]!);

          const page = PAGES[path];
          let relative: string;

          try {
            relative = page ?? decodeURIComponent(path);
          } catch {
            return sendJson(res, 404, { error: 'not found' });
          }

          return await serveFile(ctx, res, relative);
        }
      }
    } catch (err) {
      ctx.logger.error({ err, path }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  };
}
