import type { KefuErrorCode } from '@kefu/core';
import type { MessageFrom } from './protocol.js';

/** Why the server ended a connection on its own. */
export type DropReason = 'heartbeat' | 'slow_consumer' | 'abuse' | 'hello_timeout';

/** The typed event map of a chat server. */
export interface ChatServerEvents {
  /** A WebSocket handshake completed. */
  'connection.open': { connectionId: number; ip: string };
  /** A connection ended, for whatever reason; `sessionId` once it said hello. */
  'connection.close': { connectionId: number; sessionId?: string; code: number };
  /** The server ended a connection: missed pong, slow reader, abuse or no hello. */
  'connection.drop': { connectionId: number; sessionId?: string; reason: DropReason };
  /** A handshake was refused with an HTTP status before any WebSocket existed. */
  'connection.refused': { ip: string; status: number; code: KefuErrorCode };
  /** A visitor said hello without a token: a new session. */
  'session.start': { sessionId: string; connectionId: number };
  /** A visitor came back with a valid token; `replayed` frames were sent again. */
  'session.resume': { sessionId: string; connectionId: number; lastSeq: number; replayed: number };
  /** A session's transport state was forgotten after `sessionIdleMs` without a socket. */
  'session.end': { sessionId: string };
  /** A session started waiting for a human agent. */
  'session.waiting': { sessionId: string; reason: string; traceId?: string };
  /** An accepted chat message from a visitor or an agent. */
  'message.in': {
    connectionId: number;
    sessionId: string;
    from: 'visitor' | 'agent';
    id: string;
    traceId?: string;
  };
  /** A sequenced frame left for a session (once, however many sockets get it). */
  'message.out': { sessionId: string; seq: number; type: string; from?: MessageFrom; traceId?: string };
  /** A frame was refused with an `error` frame. */
  'frame.invalid': { connectionId: number; sessionId?: string; code: KefuErrorCode };
  /** An agent joined a session: the bot stops answering it. */
  'agent.joined': { sessionId: string; agentId: string };
  /** An agent left a session (or disconnected): the bot answers again. */
  'agent.left': { sessionId: string; agentId: string; reason: 'leave' | 'disconnect' };
  /** A failure no client will report, such as the engine rejecting a turn. */
  error: { error: unknown; connectionId?: number; sessionId?: string; traceId?: string };
}

/** What {@link ChatServer.stats} returns. */
export interface ChatServerStats {
  /** Open connections, visitors and agents included. */
  connections: number;
  visitors: number;
  agents: number;
  /** Sessions whose transport state is held (with or without a socket). */
  sessions: number;
  waiting: number;
  /** Handshakes accepted and refused since start. */
  accepted: number;
  refused: number;
  messagesIn: number;
  messagesOut: number;
  /** Connections the server ended itself (see `connection.drop`). */
  drops: number;
  resumes: number;
  /** Duplicate message ids answered with their first ack. */
  duplicates: number;
  /** `error` frames sent. */
  errors: number;
}
