import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  isKefuError,
  KefuError,
  silentLogger,
  type Engine,
  type KefuErrorCode,
  type Logger,
  type Reply,
  type ReplyAction,
} from '@kefu/core';
import { EventEmitter } from 'eventemitter3';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { ChatServerEvents, ChatServerStats, DropReason } from './events.js';
import { HeartbeatWheel } from './internal/heartbeat.js';
import { defaultMaxConnections } from './internal/limits.js';
import { SeqRing } from './internal/ring.js';
import {
  chatServerOptionsSchema,
  type ChatServerOptions,
  type ResolvedChatServerOptions,
} from './options.js';
import {
  CLIENT_FRAME_TYPES,
  clientFrameSchema,
  type AgentInfo,
  type ClientFrame,
  type ClientMessageFrame,
  type HelloFrame,
  type MessageFrom,
  type QueueEntry,
  parseMessageFast,
} from './protocol.js';
import { safeEqual, TokenSigner } from './token.js';

const ROLE_NONE = 0;
const ROLE_PENDING = 1;
const ROLE_VISITOR = 2;
const ROLE_AGENT = 3;

/** WebSocket close codes the server uses (RFC 6455 and the IANA registry). */
const CLOSE_POLICY = 1008;
const CLOSE_RESTART = 1012;
const CLOSE_TRY_AGAIN = 1013;

const KNOWN_TYPES = new Set<string>(CLIENT_FRAME_TYPES);
const PREVIEW_LENGTH = 120;

/**
 * One connection: `ws` builds its sockets from this subclass (the server's
 * `WebSocket` option), so the chat's fields sit inside the socket object
 * itself, with no second object and no property added after construction.
 * Kept flat and closure-free on purpose: the idle benchmark holds 19,000 of
 * these. Listeners are shared functions that get the socket as `this`.
 * Times are milliseconds since the server started and the token bucket
 * counts thousandths of a token, so that both stay small integers, which V8
 * stores inline instead of as a separate heap number per field.
 */
class Conn extends WebSocket {
  id = 0;
  ip = '';
  openedAt = 0;
  role = ROLE_NONE;
  isAlive = true;
  isDropped = false;
  isCorked = false;
  hbSlot = -1;
  tokens = 0;
  refillAt = 0;
  strikes = 0;
  session: SessionState | null = null;
  agent: AgentState | null = null;

  // `ws` calls this with its own arguments (null, undefined, options).
  constructor(...args: unknown[]) {
    super(...(args as [null]));
  }
}

/** What an agent connection carries besides a visitor's fields. */
interface AgentState {
  info: AgentInfo;
  joined: Set<string>;
}

/** The transport's side of one conversation; outlives its sockets for resume. */
class SessionState {
  readonly id: string;
  seq: number;
  /** Made on the first sequenced frame: a session that never talked has none. */
  ring: SeqRing | null = null;
  /** Recent client message ids and the seq each was acknowledged with. */
  ids: Map<string, number> | null = null;
  sockets: Conn[];
  agent: Conn | null = null;
  waiting: QueueEntry | null = null;
  /** The tail of this session's turns, so replies leave in arrival order. */
  chain: Promise<void> | null = null;
  pending = 0;
  lastSeen: number;
  lastVisitorText = '';

  constructor(id: string, seq: number, first: Conn, now: number) {
    this.id = id;
    this.seq = seq;
    // An array literal gets exactly one slot; `[]` and push() would reserve 17.
    this.sockets = [first];
    this.lastSeen = now;
  }
}

/**
 * An outbound sequenced frame; `seq` is a placeholder (0) that keeps the key
 * second in the JSON until {@link ChatServer#deliver} assigns it.
 */
type SessionFrame = { type: string; seq: number; from?: MessageFrom; traceId?: string } & Record<
  string,
  unknown
>;

/**
 * The live-chat server: visitors, the bot and human agents over one
 * WebSocket path. Make one with {@link createChatServer}.
 */
export class ChatServer extends EventEmitter<ChatServerEvents> {
  readonly #options: ResolvedChatServerOptions;
  readonly #engine: Engine;
  readonly #logger: Logger;
  readonly #signer: TokenSigner;
  readonly #http: HttpServer;
  readonly #ownsHttp: boolean;
  readonly #wss: WebSocketServer;
  readonly #maxConnections: number;
  readonly #pendingHello = new Set<Conn>();
  readonly #agents = new Set<Conn>();
  readonly #perIp = new Map<string, number>();
  readonly #sessions = new Map<string, SessionState>();
  readonly #queue = new Map<string, QueueEntry>();
  /** Every open connection, dealt out for heartbeats (or just held, when they are off). */
  readonly #wheel: HeartbeatWheel<Conn>;
  readonly #timers: NodeJS.Timeout[] = [];
  #nextConnId = 1;
  readonly #isLogging: boolean;
  readonly #epoch = Date.now();
  #visitors = 0;
  #isClosing = false;
  #closed: Promise<void> | null = null;
  readonly #counts = {
    accepted: 0,
    refused: 0,
    messagesIn: 0,
    messagesOut: 0,
    drops: 0,
    resumes: 0,
    duplicates: 0,
    errors: 0,
  };

  // Shared listeners: one function per server, never one per connection.
  readonly #onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly #onConnection: (ws: WebSocket, req: IncomingMessage) => void;
  readonly #onMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  readonly #onPong: (this: WebSocket) => void;
  readonly #onClose: (this: WebSocket, code: number) => void;
  readonly #onSocketError: (this: WebSocket, err: Error) => void;
  readonly #uncorkAll: () => void;
  #corked: Conn[] = [];

  /** @internal Use {@link createChatServer}. */
  constructor(options: ResolvedChatServerOptions) {
    super();
    this.#options = options;
    this.#engine = options.engine;
    this.#logger = options.logger ?? silentLogger;
    this.#isLogging = options.logger !== undefined;
    this.#signer = new TokenSigner(options.secret);
    this.#ownsHttp = options.server === undefined;
    this.#http = options.server ?? createServer(refuseHttp);
    this.#maxConnections = options.maxConnections ?? defaultMaxConnections();

    // ws enforces a hard ceiling of its own (it closes with 1009); frames
    // between `maxPayload` and the ceiling get an error frame and the
    // connection lives on, as the protocol promises.
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: Math.max(64 * 1024, options.maxPayload * 4),
      WebSocket: Conn,
    });

    const server = this;
    this.#onUpgrade = (req, socket, head) => server.#upgrade(req, socket, head);
    this.#onConnection = (ws, req) => server.#accept(ws as Conn, req);
    this.#onMessage = function (data, isBinary) {
      server.#receive(this as Conn, data, isBinary);
    };
    this.#onPong = function () {
      (this as Conn).isAlive = true;
    };
    this.#onClose = function (code) {
      server.#forget(this as Conn, code);
    };
    this.#onSocketError = function (err) {
      server.#logger.debug({ connectionId: (this as Conn).id, err }, 'socket error');
    };

    this.#uncorkAll = () => {
      const corked = server.#corked;
      server.#corked = [];
      for (const conn of corked) {
        conn.isCorked = false;
        (conn as unknown as { _socket?: Duplex | null })._socket?.uncork();
      }
    };

    this.#http.on('upgrade', this.#onUpgrade);

    this.#wheel = new HeartbeatWheel<Conn>(options.heartbeatIntervalMs, (conn) => this.#beat(conn));
    this.#every(Math.min(1_000, Math.max(10, options.helloTimeoutMs / 4)), () =>
      this.#sweepHellos(),
    );
    this.#every(Math.min(60_000, Math.max(1_000, options.sessionIdleMs / 4)), () =>
      this.#sweepSessions(),
    );
  }

  /** @internal Starts listening when the server owns its http.Server. */
  async listen(): Promise<void> {
    if (!this.#ownsHttp) return;

    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(
        { port: this.#options.port ?? 0, host: this.#options.host, backlog: this.#options.backlog },
        () => {
          this.#http.off('error', reject);
          resolve();
        },
      );
    });
    this.#logger.info({ address: this.address() }, 'chat server listening');
  }

  /** The address the server listens on (the host's, when attached). */
  address(): AddressInfo | null {
    const address = this.#http.address();

    return typeof address === 'object' ? address : null;
  }

  /** Counters since start; see {@link ChatServerStats}. */
  stats(): ChatServerStats {
    return {
      connections: this.#wheel.size,
      visitors: this.#visitors,
      agents: this.#agents.size,
      sessions: this.#sessions.size,
      waiting: this.#queue.size,
      ...this.#counts,
    };
  }

  /**
   * Mints a token an agent can say hello with, signed by the server secret.
   * @throws TRANSPORT_WS_CLOSED after {@link close}.
   */
  issueAgentToken(agentId: string, ttlMs = this.#options.tokenTtlMs): string {
    if (this.#isClosing) throw new KefuError('TRANSPORT_WS_CLOSED', 'the chat server is closed');

    return this.#signer.sign({ sessionId: agentId, role: 'agent', exp: Date.now() + ttlMs });
  }

  /**
   * Drains: refuses new handshakes, lets turns in flight answer, closes every
   * socket with 1012 ("come back soon") after its queued frames, and stops
   * the timers. Idempotent. Leaves the engine and a host's http.Server open.
   */
  close(): Promise<void> {
    this.#closed ??= this.#drain();

    return this.#closed;
  }

  async #drain(): Promise<void> {
    this.#isClosing = true;
    if (this.#ownsHttp) this.#http.close();

    const deadline = this.#options.drainTimeoutMs;
    const turns = [...this.#sessions.values()].flatMap((s) => (s.chain === null ? [] : [s.chain]));
    await withTimeout(Promise.all(turns), deadline);

    const open = [...this.#wheel];
    const closed = open.map(
      (conn) => new Promise<void>((resolve) => conn.once('close', () => resolve())),
    );
    for (const conn of open) conn.close(CLOSE_RESTART, 'server restart');

    const isDone = await withTimeout(Promise.all(closed), deadline);
    if (!isDone) for (const conn of open) conn.terminate();

    this.#wheel.stop();
    for (const timer of this.#timers) clearInterval(timer);
    this.#http.off('upgrade', this.#onUpgrade);
    if (this.#ownsHttp) this.#http.closeAllConnections();
    this.#wss.close();
    this.#logger.info({ connections: open.length }, 'chat server closed');
  }

  // ---- handshake --------------------------------------------------------

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    const ip = req.socket.remoteAddress ?? 'unknown';

    if (pathname !== this.#options.path) {
      // Another WebSocket server may share the host's http.Server.
      if (!this.#ownsHttp && this.#http.listenerCount('upgrade') > 1) return;
      return refuse(socket, 404);
    }
    if (this.#isClosing) return this.#refuse(socket, ip, 503, 'TRANSPORT_WS_CLOSED');

    const origins = this.#options.origins;
    if (origins !== undefined && !origins.includes(req.headers.origin ?? '')) {
      return this.#refuse(socket, ip, 403, 'TRANSPORT_WS_ORIGIN_REFUSED');
    }
    if (this.#wheel.size >= this.#maxConnections) {
      return this.#refuse(socket, ip, 503, 'TRANSPORT_WS_TOO_MANY_CONNECTIONS');
    }
    if ((this.#perIp.get(ip) ?? 0) >= this.#options.maxConnectionsPerIp) {
      return this.#refuse(socket, ip, 429, 'TRANSPORT_WS_TOO_MANY_CONNECTIONS');
    }

    this.#wss.handleUpgrade(req, socket, head, this.#onConnection);
  }

  #refuse(socket: Duplex, ip: string, status: number, code: KefuErrorCode): void {
    this.#counts.refused += 1;
    refuse(socket, status);
    this.emit('connection.refused', { ip, status, code });
  }

  #accept(conn: Conn, req: IncomingMessage): void {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const now = this.#now();

    conn.id = this.#nextConnId++;
    conn.ip = ip;
    conn.openedAt = now;
    conn.refillAt = now;
    conn.tokens = this.#options.rateLimit.burst * 1000;
    conn.on('message', this.#onMessage);
    conn.on('pong', this.#onPong);
    conn.on('close', this.#onClose);
    conn.on('error', this.#onSocketError);

    this.#pendingHello.add(conn);
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    this.#wheel.add(conn);
    this.#counts.accepted += 1;
    this.emit('connection.open', { connectionId: conn.id, ip });
  }

  // ---- inbound frames ---------------------------------------------------

  #receive(conn: Conn, data: RawData, isBinary: boolean): void {
    conn.isAlive = true;
    if (conn.isDropped) return;

    if (!this.#takeToken(conn)) {
      return this.#reject(conn, 'TRANSPORT_WS_RATE_LIMITED', 'too many messages; slow down');
    }
    if (isBinary) {
      return this.#reject(conn, 'TRANSPORT_WS_BINARY_UNSUPPORTED', 'expected a JSON text frame');
    }

    const size = Array.isArray(data)
      ? data.reduce((n, b) => n + b.length, 0)
      : (data as Buffer | ArrayBuffer).byteLength;
    if (size > this.#options.maxPayload) {
      const message = `frame of ${size} bytes exceeds ${this.#options.maxPayload}`;
      return this.#reject(conn, 'TRANSPORT_WS_FRAME_TOO_LARGE', message);
    }

    let raw: unknown;
    try {
      raw = JSON.parse(rawToString(data));
    } catch {
      return this.#reject(conn, 'TRANSPORT_WS_JSON_INVALID', 'the frame is not valid JSON');
    }

    const frame = this.#validate(conn, raw);
    if (frame === null) return;

    // Until a hello has been accepted (its token may still be checked
    // asynchronously), only hello and ping mean anything.
    if (conn.role <= ROLE_PENDING && frame.type !== 'hello' && frame.type !== 'ping') {
      return this.#reject(conn, 'TRANSPORT_WS_HELLO_REQUIRED', 'say hello first', idOf(raw));
    }
    this.#dispatch(conn, frame);
  }

  #validate(conn: Conn, raw: unknown): ClientFrame | null {
    const fast = parseMessageFast(raw);
    if (fast !== null) return fast;

    const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;

    if (typeof type !== 'string') {
      this.#reject(conn, 'TRANSPORT_WS_MESSAGE_INVALID', 'expected an object with a type');
      return null;
    }
    if (!KNOWN_TYPES.has(type)) {
      this.#reject(conn, 'TRANSPORT_WS_UNKNOWN_TYPE', `unknown frame type "${type.slice(0, 40)}"`, idOf(raw));
      return null;
    }

    const parsed = clientFrameSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') || 'frame';
      this.#reject(conn, 'TRANSPORT_WS_MESSAGE_INVALID', `invalid ${type}: ${where}`, idOf(raw));
      return null;
    }

    return parsed.data;
  }

  #dispatch(conn: Conn, frame: ClientFrame): void {
    switch (frame.type) {
      case 'ping':
        return this.#send(conn, '{"type":"pong"}');
      case 'hello':
        return void this.#hello(conn, frame).catch((error: unknown) => this.#fail(conn, error));
      case 'message':
        return conn.role === ROLE_AGENT
          ? void this.#agentMessage(conn, frame)
          : this.#visitorMessage(conn, frame);
      case 'typing':
        return this.#typing(conn, frame.isTyping, frame.sessionId);
      case 'handoff':
        return this.#visitorHandoff(conn, frame.reason);
      case 'join':
        return void this.#join(conn, frame.sessionId).catch((error: unknown) => this.#fail(conn, error));
      case 'leave':
        return this.#leave(conn, frame.sessionId);
      case 'queue':
        if (!this.#isAgent(conn)) return;
        return this.#send(conn, this.#queueFrame());
    }
  }

  // ---- hello ------------------------------------------------------------

  async #hello(conn: Conn, hello: HelloFrame): Promise<void> {
    if (conn.role !== ROLE_NONE) {
      return this.#reject(conn, 'TRANSPORT_WS_MESSAGE_INVALID', 'hello was already said');
    }

    conn.role = ROLE_PENDING;
    if (hello.role === 'agent') return this.#agentHello(conn, hello);

    let sessionId: string | undefined;
    if (hello.token !== undefined) {
      sessionId = await this.#verifyVisitor(hello.token);
      if (conn.isDropped) return;
      if (sessionId === undefined) {
        conn.role = ROLE_NONE;
        return this.#reject(conn, 'TRANSPORT_WS_TOKEN_INVALID', 'the token is not valid for a session');
      }
    }

    const isResume = sessionId !== undefined;
    const id = sessionId ?? randomUUID();
    let session = this.#sessions.get(id);
    const isKnown = session !== undefined;

    if (session === undefined) {
      // A valid token for a session this process forgot (idle expiry or a
      // restart): numbering goes on from the client's lastSeq so that seqs
      // the client has seen are never reused.
      session = new SessionState(id, isResume ? (hello.lastSeq ?? 0) : 0, conn, this.#now());
      this.#sessions.set(id, session);
    } else {
      session.sockets = [...session.sockets, conn];
    }

    conn.role = ROLE_VISITOR;
    conn.session = session;
    this.#pendingHello.delete(conn);
    this.#visitors += 1;

    const lastSeq = hello.lastSeq ?? session.seq;
    const replay = session.ring?.since(lastSeq, session.seq) ?? {
      frames: [],
      isComplete: lastSeq >= session.seq,
    };
    const exp = Date.now() + this.#options.tokenTtlMs;
    const token = this.#signer.sign({ sessionId: id, role: 'visitor', exp });
    const welcome: Record<string, unknown> = { type: 'welcome', sessionId: id, token, seq: session.seq };

    if (isResume) welcome.resumed = isKnown;
    if (!replay.isComplete) welcome.missed = session.seq - lastSeq - replay.frames.length;
    if (session.agent?.agent) welcome.agent = session.agent.agent.info;
    if (session.waiting !== null) welcome.waiting = true;

    this.#send(conn, JSON.stringify(welcome));
    for (const frame of replay.frames) this.#send(conn, frame);

    if (isResume) {
      this.#counts.resumes += 1;
      this.emit('session.resume', {
        sessionId: id,
        connectionId: conn.id,
        lastSeq,
        replayed: replay.frames.length,
      });
    } else {
      this.emit('session.start', { sessionId: id, connectionId: conn.id });
    }
    this.#logger.debug({ connectionId: conn.id, sessionId: id, isResume }, 'visitor hello');
  }

  async #verifyVisitor(token: string): Promise<string | undefined> {
    const claims = this.#signer.verify(token);
    if (claims !== null) return claims.role === 'visitor' ? claims.sessionId : undefined;

    const hook = this.#options.verifyVisitor;
    if (hook === undefined) return undefined;

    const identity = await hook(token);

    return identity?.sessionId;
  }

  async #agentHello(conn: Conn, hello: HelloFrame): Promise<void> {
    const info = hello.token === undefined ? null : await this.#verifyAgent(hello.token, hello.name);
    if (conn.isDropped) return;
    if (info === null) {
      conn.role = ROLE_NONE;
      return this.#reject(conn, 'TRANSPORT_WS_UNAUTHORIZED', 'the agent token was refused');
    }

    conn.role = ROLE_AGENT;
    conn.agent = { info, joined: new Set() };
    this.#pendingHello.delete(conn);
    this.#agents.add(conn);

    const queue = [...this.#queue.values()];
    this.#send(conn, JSON.stringify({ type: 'welcome', role: 'agent', agent: info, queue }));
    this.#logger.info({ connectionId: conn.id, agentId: info.id }, 'agent hello');
  }

  async #verifyAgent(token: string, name: string | undefined): Promise<AgentInfo | null> {
    const hook = this.#options.verifyAgent;
    if (hook !== undefined) return (await hook(token, name === undefined ? {} : { name })) ?? null;

    const claims = this.#signer.verify(token);
    const named = (id: string): AgentInfo => (name === undefined ? { id } : { id, name });
    if (claims !== null) return claims.role === 'agent' ? named(claims.sessionId) : null;

    const secret = this.#options.agentSecret ?? process.env.KEFU_AGENT_SECRET;
    if (secret !== undefined && secret.length > 0 && safeEqual(token, secret)) {
      return named(name ?? `agent-${this.#nextConnId}`);
    }

    return null;
  }

  // ---- visitor messages ---------------------------------------------------

  #visitorMessage(conn: Conn, frame: ClientMessageFrame): void {
    const session = conn.session;
    if (session === null) return;

    const previous = session.ids?.get(frame.id);
    if (previous !== undefined) {
      this.#counts.duplicates += 1;
      return this.#send(conn, JSON.stringify({ type: 'ack', id: frame.id, seq: previous, duplicate: true }));
    }
    if (frame.text.length > this.#options.maxTextLength) {
      const message = `text longer than ${this.#options.maxTextLength} characters`;
      return this.#reject(conn, 'TRANSPORT_WS_MESSAGE_INVALID', message, frame.id);
    }

    const { id, text } = frame;
    const traceId = randomUUID();
    const at = Date.now();
    // Built by hand, in the key order JSON.stringify would give the frame
    // object: only the client's strings need escaping (a UUID never does).
    const seq = ++session.seq;
    const data =
      `{"type":"message","seq":${seq},"from":"visitor","id":${JSON.stringify(id)},` +
      `"text":${JSON.stringify(text)},"traceId":"${traceId}","at":${at}}`;
    this.#fanOut(session, seq, data, conn, 'message', 'visitor', traceId);

    this.#remember(session, id, seq);
    this.#send(conn, `{"type":"ack","id":${JSON.stringify(id)},"seq":${seq}}`);
    session.lastVisitorText = text;
    this.#counts.messagesIn += 1;
    if (this.listenerCount('message.in') > 0) {
      const event = { connectionId: conn.id, sessionId: session.id, from: 'visitor', id, traceId } as const;
      this.emit('message.in', event);
    }
    if (this.#isLogging) {
      const fields = { connectionId: conn.id, sessionId: session.id, traceId };
      this.#logger.debug(this.#options.logText ? { ...fields, text } : fields, 'visitor message');
    }

    if (session.agent !== null) {
      // A human has the conversation: the bot stays silent, the engine
      // still keeps the history.
      this.#record(session, { from: 'visitor', text, at, traceId });
      return;
    }

    // Turns of a session run one after the other, so that replies leave in
    // the order the messages came. The chain exists only while turns are
    // pending; an idle session holds no promise.
    session.pending += 1;
    session.chain =
      session.chain === null
        ? this.#turn(session, id, text, traceId)
        : session.chain.then(() => this.#turn(session, id, text, traceId));
  }

  /**
   * Runs one turn and delivers its reply (or an error frame when the engine
   * fails it). Never rejects: the chain must go on.
   */
  async #turn(session: SessionState, replyTo: string, text: string, traceId: string): Promise<void> {
    try {
      let reply: Reply;
      try {
        reply = await this.#engine.handle({ sessionId: session.id, text, traceId });
      } catch (error) {
        return this.#engineFailed(session, replyTo, traceId, error);
      }
      this.#reply(session, replyTo, reply);
    } catch (error) {
      this.#logger.error({ sessionId: session.id, traceId, err: error }, 'reply not delivered');
      this.emit('error', { error, sessionId: session.id, traceId });
    } finally {
      session.pending -= 1;
      if (session.pending === 0) session.chain = null;
    }
  }

  #engineFailed(session: SessionState, replyTo: string, traceId: string, error: unknown): void {
    const isInput =
      isKefuError(error) && (error.code.startsWith('CORE_TEXT_') || error.code === 'CORE_INPUT_INVALID');
    const code: KefuErrorCode = isInput ? 'TRANSPORT_WS_MESSAGE_INVALID' : 'TRANSPORT_WS_ENGINE_FAILED';
    const frame = errorFrame(code, isInput ? 'the engine refused the text' : 'no answer this time', replyTo);

    for (const conn of session.sockets) this.#send(conn, frame);
    this.#counts.errors += session.sockets.length;
    if (!isInput) this.emit('error', { error, sessionId: session.id, traceId });
    this.#logger.warn({ sessionId: session.id, traceId, err: error }, 'engine failed a turn');
  }

  /** Delivers the bot's reply to a turn, as the frame `message` from `bot`. */
  #reply(session: SessionState, replyTo: string, reply: Reply): void {
    let quickReplies: string[] | undefined;
    let actions: ReplyAction[] | undefined;
    let handoff: string | undefined;
    for (const action of reply.actions) {
      if (action.type === 'quickReplies' && Array.isArray(action.options)) {
        quickReplies ??= [];
        quickReplies.push(...(action.options as string[]));
      } else {
        actions ??= [];
        actions.push(action);
        if (action.type === 'handoff') handoff = typeof action.reason === 'string' ? action.reason : 'bot';
      }
    }

    // Built by hand, in the key order JSON.stringify would give the frame
    // object { type, seq, from, text, intent, traceId, replyTo, at,
    // quickReplies?, actions? }, leaving out what is undefined as it would.
    const seq = ++session.seq;
    const { intent, traceId } = reply;
    let data =
      `{"type":"message","seq":${seq},"from":"bot","text":${JSON.stringify(reply.text)}` +
      (intent === undefined ? '' : `,"intent":${JSON.stringify(intent)}`) +
      (traceId === undefined ? '' : `,"traceId":${JSON.stringify(traceId)}`) +
      `,"replyTo":${JSON.stringify(replyTo)},"at":${Date.now()}`;
    if (quickReplies !== undefined) data += `,"quickReplies":${JSON.stringify(quickReplies)}`;
    if (actions !== undefined) data += `,"actions":${JSON.stringify(actions)}`;
    this.#fanOut(session, seq, `${data}}`, null, 'message', 'bot', traceId);

    if (handoff !== undefined) this.#startWaiting(session, handoff, traceId);
  }

  #visitorHandoff(conn: Conn, reason: string | undefined): void {
    const session = conn.session;
    if (session === null || conn.role !== ROLE_VISITOR) {
      return this.#reject(conn, 'TRANSPORT_WS_UNAUTHORIZED', 'only visitors ask for an agent');
    }

    this.#startWaiting(session, reason ?? 'visitor', undefined);
  }

  #startWaiting(session: SessionState, reason: string, traceId: string | undefined): void {
    if (session.waiting !== null || session.agent !== null) return;

    const entry: QueueEntry = { sessionId: session.id, since: Date.now(), reason };
    if (session.lastVisitorText !== '') entry.preview = session.lastVisitorText.slice(0, PREVIEW_LENGTH);

    session.waiting = entry;
    this.#queue.set(session.id, entry);
    this.#deliver(session, { type: 'waiting', seq: 0, reason }, null);
    this.#broadcastQueue();
    this.emit('session.waiting', traceId === undefined
      ? { sessionId: session.id, reason }
      : { sessionId: session.id, reason, traceId });
    this.#logger.info({ sessionId: session.id, traceId, reason }, 'session waiting for an agent');
  }

  // ---- agents ---------------------------------------------------------------

  async #join(conn: Conn, sessionId: string): Promise<void> {
    if (!this.#isAgent(conn)) return;

    const session = this.#sessions.get(sessionId);
    if (session === undefined) {
      return this.#reject(conn, 'TRANSPORT_WS_SESSION_NOT_FOUND', 'no such session');
    }
    if (session.agent === conn) return this.#send(conn, joinedFrame(session, []));
    if (session.agent !== null) {
      return this.#reject(conn, 'TRANSPORT_WS_SESSION_TAKEN', 'another agent has this session');
    }

    // The history is read before the session is taken, so that no visitor
    // message can reach the agent ahead of the `joined` frame.
    const view = await this.#engine.getSession(sessionId).catch(() => undefined);
    const agent = conn.agent;
    if (conn.isDropped || agent === null) return;
    if (session.agent !== null) {
      return this.#reject(conn, 'TRANSPORT_WS_SESSION_TAKEN', 'another agent has this session');
    }

    session.agent = conn;
    agent.joined.add(sessionId);
    this.#send(conn, joinedFrame(session, view?.history ?? []));
    this.#deliver(session, { type: 'agent.joined', seq: 0, agent: agent.info }, conn);

    if (session.waiting !== null) {
      session.waiting = null;
      this.#queue.delete(sessionId);
      this.#broadcastQueue();
    }
    this.emit('agent.joined', { sessionId, agentId: agent.info.id });
    this.#logger.info({ connectionId: conn.id, sessionId, agentId: agent.info.id }, 'agent joined');
  }

  #leave(conn: Conn, sessionId: string): void {
    if (!this.#isAgent(conn)) return;

    const session = this.#sessions.get(sessionId);
    if (session === undefined || session.agent !== conn) {
      return this.#reject(conn, 'TRANSPORT_WS_NOT_JOINED', 'not joined to that session');
    }

    this.#release(conn, session, 'leave');
    this.#send(conn, JSON.stringify({ type: 'left', sessionId }));
  }

  #release(conn: Conn, session: SessionState, reason: 'leave' | 'disconnect'): void {
    const agent = conn.agent;
    if (agent === null) return;

    session.agent = null;
    agent.joined.delete(session.id);
    this.#deliver(session, { type: 'agent.left', seq: 0, agent: agent.info }, conn);
    this.emit('agent.left', { sessionId: session.id, agentId: agent.info.id, reason });
    this.#logger.info(
      { connectionId: conn.id, sessionId: session.id, agentId: agent.info.id, reason },
      'agent left',
    );
  }

  async #agentMessage(conn: Conn, frame: ClientMessageFrame): Promise<void> {
    const agent = conn.agent;
    if (agent === null) return;
    if (frame.sessionId === undefined) {
      return this.#reject(conn, 'TRANSPORT_WS_MESSAGE_INVALID', 'an agent message needs sessionId', frame.id);
    }

    const session = this.#sessions.get(frame.sessionId);
    if (session === undefined || session.agent !== conn) {
      return this.#reject(conn, 'TRANSPORT_WS_NOT_JOINED', 'not joined to that session', frame.id);
    }

    const key = `agent:${frame.id}`;
    const previous = session.ids?.get(key);
    if (previous !== undefined) {
      this.#counts.duplicates += 1;
      const ack = { type: 'ack', id: frame.id, seq: previous, sessionId: session.id, duplicate: true };
      return this.#send(conn, JSON.stringify(ack));
    }
    if (frame.text.length > this.#options.maxTextLength) {
      const message = `text longer than ${this.#options.maxTextLength} characters`;
      return this.#reject(conn, 'TRANSPORT_WS_MESSAGE_INVALID', message, frame.id);
    }

    const at = Date.now();
    const seq = this.#deliver(
      session,
      { type: 'message', seq: 0, from: 'agent', text: frame.text, agent: agent.info, at },
      conn,
    );

    this.#remember(session, key, seq);
    this.#send(conn, JSON.stringify({ type: 'ack', id: frame.id, seq, sessionId: session.id }));
    this.#counts.messagesIn += 1;
    this.emit('message.in', { connectionId: conn.id, sessionId: session.id, from: 'agent', id: frame.id });
    this.#record(session, { from: 'agent', text: frame.text, at });
  }

  #typing(conn: Conn, isTyping: boolean, sessionId: string | undefined): void {
    if (conn.role === ROLE_VISITOR) {
      const session = conn.session;
      if (session?.agent == null) return;

      const frame = { type: 'typing', sessionId: session.id, from: 'visitor', isTyping };
      return this.#send(session.agent, JSON.stringify(frame));
    }
    if (conn.role !== ROLE_AGENT) return;

    const session = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
    if (session === undefined || session.agent !== conn) {
      return this.#reject(conn, 'TRANSPORT_WS_NOT_JOINED', 'not joined to that session');
    }

    const data = JSON.stringify({ type: 'typing', from: 'agent', isTyping });
    for (const visitor of session.sockets) this.#send(visitor, data);
  }

  #isAgent(conn: Conn): boolean {
    if (conn.role === ROLE_AGENT) return true;

    this.#reject(conn, 'TRANSPORT_WS_UNAUTHORIZED', 'only agents may do that');
    return false;
  }

  #queueFrame(): string {
    return JSON.stringify({ type: 'queue', sessions: [...this.#queue.values()] });
  }

  // Known limit: every change sends the whole queue to every agent, which is
  // fine for a few hundred waiting conversations and wasteful beyond.
  #broadcastQueue(): void {
    if (this.#agents.size === 0) return;

    const data = this.#queueFrame();
    for (const agent of this.#agents) this.#send(agent, data);
  }

  #record(session: SessionState, entry: { from: MessageFrom; text: string; at: number; traceId?: string }): void {
    this.#engine.recordMessage(session.id, entry).catch((error: unknown) => {
      this.#logger.warn({ sessionId: session.id, traceId: entry.traceId, err: error }, 'history not recorded');
      this.emit('error', { error, sessionId: session.id });
    });
  }

  // ---- delivery -------------------------------------------------------------

  /**
   * Gives `frame` the session's next seq, keeps it for resume and sends it to
   * every visitor socket and the joined agent, except `origin` (which gets
   * an ack instead). Returns the seq.
   */
  #deliver(session: SessionState, frame: SessionFrame, origin: Conn | null): number {
    const seq = ++session.seq;
    frame.seq = seq;
    this.#fanOut(session, seq, JSON.stringify(frame), origin, frame.type, frame.from, frame.traceId);

    return seq;
  }

  /**
   * The second half of {@link ChatServer#deliver}, for a frame already
   * numbered `seq` and turned into JSON (`data`, an object ending in `}`
   * with no `sessionId` key): keeps it for resume, sends it out and tells
   * the `message.out` listeners.
   */
  #fanOut(
    session: SessionState,
    seq: number,
    data: string,
    origin: Conn | null,
    type: string,
    from: MessageFrom | undefined,
    traceId: string | undefined,
  ): void {
    session.ring ??= new SeqRing(this.#options.historySize);
    session.ring.push(seq, data);
    const sockets = session.sockets;
    for (let i = 0; i < sockets.length; i++) {
      const conn = sockets[i] as Conn;
      if (conn !== origin) this.#send(conn, data);
    }

    // An agent sees the same frame with the session it belongs to, as the
    // last key (where a spread of the frame plus sessionId would put it).
    const agent = session.agent;
    if (agent !== null && agent !== origin) {
      this.#send(agent, `${data.slice(0, -1)},"sessionId":${JSON.stringify(session.id)}}`);
    }

    if (this.listenerCount('message.out') > 0) {
      const event: ChatServerEvents['message.out'] = { sessionId: session.id, seq, type };
      if (from !== undefined) event.from = from;
      if (traceId !== undefined) event.traceId = traceId;
      this.emit('message.out', event);
    }
  }

  /**
   * Holds a socket's writes until the end of this turn of the event loop.
   * An ack and the bot's reply (an instant engine answers within the same
   * turn) then leave in one write system call instead of two.
   */
  #cork(conn: Conn): void {
    const socket = (conn as unknown as { _socket?: Duplex | null })._socket;
    if (socket == null) return;

    socket.cork();
    conn.isCorked = true;
    this.#corked.push(conn);
    if (this.#corked.length === 1) setImmediate(this.#uncorkAll);
  }

  #remember(session: SessionState, id: string, seq: number): void {
    const max = this.#options.dedupeSize;
    if (max === 0) return;

    session.ids ??= new Map();
    session.ids.set(id, seq);
    if (session.ids.size > max) {
      const oldest = session.ids.keys().next().value;
      if (oldest !== undefined) session.ids.delete(oldest);
    }
  }

  #send(conn: Conn, data: string): void {
    const ws = conn;
    if (conn.isDropped || ws.readyState !== 1) return;

    if (!conn.isCorked) this.#cork(conn);
    ws.send(data);
    this.#counts.messagesOut += 1;
    if (ws.bufferedAmount > this.#options.maxBufferedBytes) this.#drop(conn, 'slow_consumer');
  }

  // ---- errors and limits ----------------------------------------------------

  /** Answers a bad frame with an `error` frame; past `maxStrikes`, closes with 1008. */
  #reject(conn: Conn, code: KefuErrorCode, message: string, id?: string): void {
    this.#counts.errors += 1;
    this.#send(conn, errorFrame(code, message, id));
    this.emit('frame.invalid', {
      connectionId: conn.id,
      code,
      ...(conn.session === null ? {} : { sessionId: conn.session.id }),
    });
    this.#logger.debug({ connectionId: conn.id, sessionId: conn.session?.id, code }, 'frame refused');

    conn.strikes += 1;
    if (conn.strikes > this.#options.maxStrikes) this.#drop(conn, 'abuse');
  }

  #fail(conn: Conn, error: unknown): void {
    this.#logger.error({ connectionId: conn.id, err: error }, 'frame handling failed');
    this.emit('error', { error, connectionId: conn.id });
    if (conn.role === ROLE_PENDING) conn.role = ROLE_NONE;
    this.#reject(conn, 'TRANSPORT_WS_UNAUTHORIZED', 'the token could not be checked');
  }

  /** Takes one token (1000 milli-tokens) from the connection's bucket. */
  #takeToken(conn: Conn): boolean {
    const { perSecond, burst } = this.#options.rateLimit;
    const now = this.#now();
    // perSecond tokens a second is perSecond milli-tokens a millisecond.
    const gained = Math.floor((now - conn.refillAt) * perSecond);

    if (gained > 0) {
      conn.tokens = Math.min(burst * 1000, conn.tokens + gained);
      conn.refillAt = now;
    }
    if (conn.tokens < 1000) return false;

    conn.tokens -= 1000;
    return true;
  }

  /** Milliseconds since this server started: a small integer for a few weeks. */
  #now(): number {
    return Date.now() - this.#epoch;
  }

  /**
   * Ends a connection the server gave up on. The socket leaves its session
   * at once, so nothing more is queued for it; what it missed stays in the
   * session's ring for a resume.
   */
  #drop(conn: Conn, reason: DropReason): void {
    if (conn.isDropped) return;

    conn.isDropped = true;
    this.#detach(conn);
    this.#counts.drops += 1;

    if (reason === 'heartbeat') conn.terminate();
    else if (reason === 'slow_consumer') conn.close(CLOSE_TRY_AGAIN, 'slow consumer');
    else conn.close(CLOSE_POLICY, reason === 'abuse' ? 'too many bad frames' : 'no hello');

    const sessionId = conn.session?.id;
    this.emit('connection.drop', {
      connectionId: conn.id,
      reason,
      ...(sessionId === undefined ? {} : { sessionId }),
    });
    this.#logger.info({ connectionId: conn.id, sessionId, reason }, 'connection dropped');
  }

  /** Takes a connection out of its session and the agent list. Idempotent. */
  #detach(conn: Conn): void {
    this.#pendingHello.delete(conn);

    const session = conn.session;
    if (session !== null) {
      // A new array rather than splice(): #deliver may be iterating the old
      // one right now (a send that drops a slow tab) and must not skip the
      // tab after it.
      const rest = session.sockets.filter((c) => c !== conn);
      if (rest.length !== session.sockets.length) {
        session.sockets = rest;
        session.lastSeen = this.#now();
        this.#visitors -= 1;
      }
    }

    const agent = conn.agent;
    if (agent !== null && this.#agents.delete(conn)) {
      for (const id of agent.joined) {
        const joined = this.#sessions.get(id);
        if (joined !== undefined) this.#release(conn, joined, 'disconnect');
      }
    }
  }

  #forget(conn: Conn, code: number): void {
    this.#detach(conn);
    this.#wheel.remove(conn);

    const left = (this.#perIp.get(conn.ip) ?? 1) - 1;
    if (left <= 0) this.#perIp.delete(conn.ip);
    else this.#perIp.set(conn.ip, left);

    const sessionId = conn.session?.id;
    this.emit('connection.close', {
      connectionId: conn.id,
      code,
      ...(sessionId === undefined ? {} : { sessionId }),
    });
  }

  // ---- timers -----------------------------------------------------------------

  #beat(conn: Conn): void {
    if (conn.isDropped) return;
    if (!conn.isAlive) return this.#drop(conn, 'heartbeat');

    conn.isAlive = false;
    conn.ping();
  }

  #sweepHellos(): void {
    const oldest = this.#now() - this.#options.helloTimeoutMs;

    for (const conn of this.#pendingHello) {
      if (conn.openedAt > oldest) continue;

      this.#send(conn, errorFrame('TRANSPORT_WS_HELLO_TIMEOUT', 'no hello in time'));
      this.#counts.errors += 1;
      this.#drop(conn, 'hello_timeout');
    }
  }

  // Known limit: a session's transport state (seq, ring, recent ids) lives in
  // this process only; after `sessionIdleMs` without a socket, or a restart,
  // a resume starts a fresh ring and what was missed cannot be replayed.
  #sweepSessions(): void {
    const oldest = this.#now() - this.#options.sessionIdleMs;

    for (const session of this.#sessions.values()) {
      const isIdle =
        session.sockets.length === 0 &&
        session.pending === 0 &&
        session.agent === null &&
        session.lastSeen <= oldest;
      if (!isIdle) continue;

      this.#sessions.delete(session.id);
      if (this.#queue.delete(session.id)) this.#broadcastQueue();
      this.emit('session.end', { sessionId: session.id });
    }
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);

    timer.unref();
    this.#timers.push(timer);
  }
}

/**
 * Starts a live-chat server: attached to `options.server` (handling the
 * upgrades of `options.path` only) or listening on `options.port` itself.
 * Resolves once it accepts connections.
 *
 * @throws TRANSPORT_WS_OPTIONS_INVALID when an option is wrong.
 */
export async function createChatServer(options: ChatServerOptions): Promise<ChatServer> {
  const parsed = chatServerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'options';
    throw new KefuError('TRANSPORT_WS_OPTIONS_INVALID', `option ${field}: ${issue?.message ?? 'invalid'}`, {
      cause: parsed.error,
      details: { issues: parsed.error.issues },
    });
  }

  const server = new ChatServer(parsed.data);
  await server.listen();

  return server;
}

function errorFrame(code: KefuErrorCode, message: string, id?: string): string {
  return JSON.stringify(id === undefined ? { type: 'error', code, message } : { type: 'error', code, message, id });
}

function joinedFrame(session: SessionState, history: readonly unknown[]): string {
  return JSON.stringify({ type: 'joined', sessionId: session.id, seq: session.seq, history });
}

function idOf(raw: unknown): string | undefined {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;

  return typeof id === 'string' && id.length <= 128 ? id : undefined;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');

  return Buffer.from(data).toString('utf8');
}

const STATUS_TEXT: Record<number, string> = {
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

function refuse(socket: Duplex, status: number): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function refuseHttp(_req: IncomingMessage, res: import('node:http').ServerResponse): void {
  res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
  res.end('WebSocket only\n');
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });

  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
