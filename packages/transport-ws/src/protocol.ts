import { z } from 'zod';

/**
 * The wire protocol of the live chat: JSON text frames, one object each,
 * told apart by `type`. The visitor half (`hello`, `welcome`, `message`,
 * `ack`, `error`) is the contract of DESIGN.md; the rest is documented in the
 * package README.
 */

/** The longest client message `id` the server accepts. */
export const MAX_ID_LENGTH = 128;

const id = z.string().min(1).max(MAX_ID_LENGTH);
const MAX_SESSION_ID_LENGTH = 128;
const sessionId = z.string().min(1).max(MAX_SESSION_ID_LENGTH);
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const hello = z.object({
  type: z.literal('hello'),
  role: z.enum(['visitor', 'agent']).default('visitor'),
  token: z.string().min(1).max(2048).optional(),
  lastSeq: seq.optional(),
  /** A display name, used for agents. */
  name: z.string().min(1).max(80).optional(),
});

const message = z.object({
  type: z.literal('message'),
  id,
  text: z.string().min(1),
  /** Required from agents: the session the message is for. */
  sessionId: sessionId.optional(),
});

const typing = z.object({
  type: z.literal('typing'),
  isTyping: z.boolean().default(true),
  sessionId: sessionId.optional(),
});

const join = z.object({ type: z.literal('join'), sessionId });
const leave = z.object({ type: z.literal('leave'), sessionId });
const handoff = z.object({ type: z.literal('handoff'), reason: z.string().max(200).optional() });
const ping = z.object({ type: z.literal('ping') });
const queue = z.object({ type: z.literal('queue') });

/** Every frame type a client may send. */
export const CLIENT_FRAME_TYPES = [
  'hello',
  'message',
  'typing',
  'join',
  'leave',
  'handoff',
  'ping',
  'queue',
] as const;

export const clientFrameSchema = z.discriminatedUnion('type', [
  hello,
  message,
  typing,
  join,
  leave,
  handoff,
  ping,
  queue,
]);

/**
 * The common case without zod: a well-formed `message` frame, checked field by
 * field against the same rules as {@link clientFrameSchema}, and returned as
 * the schema would return it (unknown keys left out). Anything else, valid or
 * not, gets `null`, and the caller falls back to the schema, which also names
 * what is wrong.
 */
export function parseMessageFast(raw: unknown): ClientMessageFrame | null {
  if (typeof raw !== 'object' || raw === null) return null;

  const frame = raw as { type?: unknown; id?: unknown; text?: unknown; sessionId?: unknown };
  if (frame.type !== 'message') return null;

  const { id, text, sessionId } = frame;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return null;
  if (typeof text !== 'string' || text.length === 0) return null;
  if (sessionId === undefined) return { type: 'message', id, text };
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) return null;

  return { type: 'message', id, text, sessionId };
}

/** A frame from a client, after validation. */
export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type HelloFrame = z.infer<typeof hello>;
export type ClientMessageFrame = z.infer<typeof message>;

/** Who wrote a chat message. */
export type MessageFrom = 'visitor' | 'bot' | 'agent';

/** An agent as visitors and other agents see it. */
export interface AgentInfo {
  id: string;
  name?: string;
}

/** A chat message from the server, as a visitor receives it. */
export interface ServerMessageFrame {
  type: 'message';
  seq: number;
  from: MessageFrom;
  text: string;
  /** The client id of a visitor's own message (seen by their other tabs). */
  id?: string;
  intent?: string;
  traceId?: string;
  /** The client `id` of the visitor message this answers. */
  replyTo?: string;
  quickReplies?: string[];
  actions?: Record<string, unknown>[];
  agent?: AgentInfo;
  at: number;
}

/** One conversation waiting for an agent, as listed in a `queue` frame. */
export interface QueueEntry {
  sessionId: string;
  since: number;
  reason?: string;
  /** The last visitor text before the handoff, truncated. */
  preview?: string;
  /** The agent who joined it, if one did. */
  agent?: AgentInfo;
}
