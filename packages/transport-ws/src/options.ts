import type { Server as HttpServer } from 'node:http';
import type { Engine, Logger } from '@kefu/core';
import { z } from 'zod';
import type { AgentInfo } from './protocol.js';

/** What a visitor's own token (from the host's login) maps to. */
export interface VisitorIdentity {
  sessionId: string;
}

const fn = <T>(name: string) =>
  z.custom<T>((v) => typeof v === 'function', { message: `${name} must be a function` });

const engine = z.custom<Engine>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Engine).handle === 'function' &&
    typeof (v as Engine).recordMessage === 'function',
  { message: 'engine must implement handle() and recordMessage()' },
);

const httpServer = z.custom<HttpServer>(
  (v) => typeof v === 'object' && v !== null && typeof (v as HttpServer).on === 'function',
  { message: 'server must be an http.Server' },
);

const logger = z.custom<Logger>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Logger).child === 'function',
  { message: 'logger must have debug/info/warn/error/child' },
);

const count = z.number().int().min(0);
const positive = z.number().int().min(1);

export const chatServerOptionsSchema = z
  .object({
    engine,
    server: httpServer.optional(),
    port: z.number().int().min(0).max(65_535).optional(),
    host: z.string().min(1).optional(),
    path: z.string().startsWith('/').default('/ws'),
    secret: z.string().min(16).optional(),
    tokenTtlMs: positive.default(24 * 60 * 60 * 1000),
    verifyVisitor: fn<(token: string) => VisitorIdentity | null | Promise<VisitorIdentity | null>>(
      'verifyVisitor',
    ).optional(),
    verifyAgent: fn<
      (token: string, hello: { name?: string }) => AgentInfo | null | Promise<AgentInfo | null>
    >('verifyAgent').optional(),
    agentSecret: z.string().min(8).optional(),
    origins: z.array(z.string().min(1)).optional(),
    maxPayload: positive.default(16 * 1024),
    maxTextLength: positive.default(4_000),
    rateLimit: z
      .object({ perSecond: z.number().positive().default(10), burst: positive.default(20) })
      .prefault({}),
    maxStrikes: count.default(10),
    maxConnections: positive.optional(),
    maxConnectionsPerIp: positive.default(64),
    helloTimeoutMs: positive.default(5_000),
    heartbeatIntervalMs: count.default(30_000),
    maxBufferedBytes: positive.default(512 * 1024),
    historySize: count.default(100),
    dedupeSize: count.default(100),
    sessionIdleMs: positive.default(30 * 60 * 1000),
    drainTimeoutMs: positive.default(5_000),
    backlog: positive.default(4_096),
    logger: logger.optional(),
    logText: z.boolean().default(false),
  })
  .refine((o) => !(o.server !== undefined && o.port !== undefined), {
    message: 'give either server or port, not both',
    path: ['port'],
  });

/** Options of {@link createChatServer}; see the README's options table. */
export type ChatServerOptions = z.input<typeof chatServerOptionsSchema>;

/** The options after defaults are applied. */
export type ResolvedChatServerOptions = z.output<typeof chatServerOptionsSchema>;
