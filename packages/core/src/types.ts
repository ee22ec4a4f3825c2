import type { Logger } from './logger.js';

/** One scored intent, as the NLU, the rules and plugins produce it. */
export interface IntentScore {
  intent: string;
  /** Confidence in [0, 1]. */
  score: number;
}

/** An intent candidate from the rule engine, with what matched. */
export interface RuleCandidate extends IntentScore {
  ruleId?: string;
  /** A human-readable account of what matched, for logs and debugging. */
  why?: string;
  /** A reply template the rule carries, already filled in. */
  reply?: string;
}

/** A labelled utterance: the unit of training and evaluation data. */
export interface TrainingExample {
  text: string;
  intent: string;
}

/** One entry of a session's bounded history. */
export interface HistoryEntry {
  from: 'visitor' | 'bot' | 'agent';
  text: string;
  at: number;
  intent?: string;
  traceId?: string;
}

/**
 * A conversation's context. The engine owns it; plugins read it and change
 * `slots` through their reply (see {@link PluginReply.slots}).
 */
export interface Session {
  readonly id: string;
  readonly createdAt: number;
  updatedAt: number;
  turns: number;
  lastIntent?: string;
  slots: Record<string, unknown>;
  history: HistoryEntry[];
}

/** A read-only view of a session, as handed to the NLU, rules and `detect()`. */
export type SessionView = Readonly<Omit<Session, 'slots' | 'history'>> & {
  readonly slots: Readonly<Record<string, unknown>>;
  readonly history: readonly Readonly<HistoryEntry>[];
};

/**
 * An NLU: learns intents from examples and ranks them for a text.
 * `@kefu/intents` implements it; a host may bring its own.
 */
export interface NluProvider {
  readonly name: string;
  /** Learns from `examples`; the previous model serves until this resolves. */
  train(examples: readonly TrainingExample[]): Promise<void>;
  /**
   * Ranks intents for `text`, best first. An empty list, or `oos` on top,
   * means out of scope. Throws or rejects when the provider cannot answer.
   */
  classify(text: string, session?: SessionView): Promise<IntentScore[]>;
  /** Releases workers, sockets and timers. */
  close?(): Promise<void>;
}

/**
 * A rule engine: the fast, explainable fallback when the NLU cannot answer.
 * `@kefu/rules` implements it; a host may bring its own.
 */
export interface RuleMatcher {
  /** Ranks the intents whose rules match `text`, best first. */
  match(text: string, session?: SessionView): readonly RuleCandidate[] | Promise<readonly RuleCandidate[]>;
  /**
   * Replaces the rules contributed by one source (a plugin's name); an empty
   * list removes them. Each spec already carries its `intent` and `id`.
   * Throws a `KefuError` when a spec is invalid, keeping the previous rules.
   */
  setRules?(source: string, specs: readonly Record<string, unknown>[]): void;
  close?(): Promise<void>;
}

/** Where an answer's intent came from. */
export type ReplySource = 'nlu' | 'rules' | 'plugin' | 'fallback';

/** An action a reply asks the transport or host to take. */
export type ReplyAction =
  | { type: 'handoff'; reason?: string }
  | { type: 'quickReplies'; options: string[] }
  | { type: 'link'; url: string; label?: string }
  | { type: string; [key: string]: unknown };

/** Why no intent won a turn; `undefined` on a reply that a plugin handled. */
export type NoMatchReason =
  | 'below_threshold'
  | 'ambiguous'
  | 'out_of_scope'
  | 'nlu_fallback'
  | 'plugin_failed';

/** The engine's answer to one turn (**contract**). */
export interface Reply {
  sessionId: string;
  traceId: string;
  /** The winning intent, or `oos` when none passed the threshold. */
  intent: string;
  score: number;
  source: ReplySource;
  /** The plugin that answered; `null` when the out-of-scope path answered. */
  plugin: { name: string; version: string } | null;
  text: string;
  actions: ReplyAction[];
  latencyMs: number;
  /** Set when no intent won, saying why. */
  reason?: NoMatchReason;
  /** The ranked candidates the decision was made on (top few). */
  candidates?: IntentScore[];
}

/** What the engine takes for one turn (**contract**). */
export interface TurnInput {
  sessionId: string;
  text: string;
  traceId?: string;
}

/** What a plugin's `detect()` may return besides a plain score. */
export interface Detection {
  /** One of the plugin's intents; defaults to its first. */
  intent?: string;
  score: number;
  /** Slots found while detecting, handed to `handle()` in `turn.slots`. */
  slots?: Record<string, unknown>;
}

/** The NLU's view of a turn, as `detect()` sees it. */
export interface NluResult {
  intents: readonly IntentScore[];
  source: 'nlu' | 'rules';
}

/** What `handle()` receives. */
export interface Turn {
  sessionId: string;
  traceId: string;
  text: string;
  intent: string;
  score: number;
  source: ReplySource;
  session: SessionView;
  /** The session's slots merged with those found by `detect()` this turn. */
  slots: Record<string, unknown>;
  /** A child logger bound to this turn's session, trace and plugin. */
  logger: Logger;
  /** Aborted when the plugin's time budget runs out. */
  signal: AbortSignal;
}

/** What `handle()` returns: a text, or a reply object. */
export type PluginReply =
  | string
  | {
      text: string;
      quickReplies?: string[];
      actions?: ReplyAction[];
      /** Slots to set on the session; a `null` value deletes the slot. */
      slots?: Record<string, unknown>;
    };

/** A fallback rule a plugin ships with an intent; the shape `@kefu/rules` reads. */
export type RuleSpec = Record<string, unknown>;

/** One intent a plugin answers. */
export interface PluginIntent {
  name: string;
  /** Training utterances for the NLU. */
  examples: string[];
  /** Rules for the rule engine; `intent` defaults to this intent's name. */
  rules?: RuleSpec[];
  /** A per-intent confidence threshold overriding the engine's. */
  threshold?: number;
}

/** What `setup()` receives: everything a plugin registers goes through it. */
export interface PluginApi {
  readonly name: string;
  readonly version: string;
  readonly logger: Logger;
  /** Listens to an engine event until this plugin version is unloaded. */
  on<E extends keyof EngineEvents>(event: E, listener: (payload: EngineEvents[E]) => void): void;
  /** A timer that is cleared when this plugin version is unloaded. */
  setTimeout(fn: () => void, ms: number): void;
  setInterval(fn: () => void, ms: number): void;
  /** Runs `fn` when this plugin version is unloaded. */
  onDispose(fn: () => void | Promise<void>): void;
}

/** An intent plugin (**contract**): the default export of a plugin module. */
export interface Plugin {
  name: string;
  version: string;
  intents: PluginIntent[];
  detect?(
    text: string,
    session: SessionView,
    nlu: NluResult,
  ): number | Detection | null | undefined | Promise<number | Detection | null | undefined>;
  handle(turn: Turn): PluginReply | Promise<PluginReply>;
  setup?(api: PluginApi): void | Promise<void>;
  dispose?(): void | Promise<void>;
}

/** A loaded plugin's state, as `engine.plugins.list()` reports it. */
export interface PluginInfo {
  name: string;
  version: string;
  state: 'active' | 'failed' | 'unloaded';
  file: string | null;
  error?: string;
}

/** Breaker states, opossum's three. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** Why the NLU's answer was replaced by the rules'. */
export type FallbackReason = 'timeout' | 'error' | 'circuit_open' | 'not_trained';

/** The typed event map of the engine (**contract** names). */
export interface EngineEvents {
  /** A session was created (not found in the pool nor in the store). */
  'session.start': { sessionId: string; traceId?: string };
  /** A session left the pool: idle past its TTL, evicted, or the engine closed. */
  'session.end': { sessionId: string; reason: 'expired' | 'evicted' | 'closed' };
  /** A turn was accepted, after validation. */
  'message.in': { sessionId: string; traceId: string; length: number };
  /** The decision of a turn: the winner, or why none won. */
  'intent.detected': {
    sessionId: string;
    traceId: string;
    intent: string;
    score: number;
    source: ReplySource;
    plugin: string | null;
    reason?: NoMatchReason;
    candidates: IntentScore[];
  };
  /** A reply left the engine. */
  'reply.out': { sessionId: string; traceId: string; reply: Reply };
  /** The rules answered instead of the NLU. */
  'nlu.fallback': { sessionId: string; traceId: string; reason: FallbackReason; error?: unknown };
  'breaker.open': { state: BreakerState };
  'breaker.halfOpen': { state: BreakerState };
  'breaker.close': { state: BreakerState };
  /** A plugin version was imported, validated, set up and swapped in. */
  'plugin.loaded': { name: string; version: string; file: string | null; previousVersion?: string };
  /** A plugin version stopped serving (replaced, deleted or engine closed). */
  'plugin.unloaded': { name: string; version: string; file: string | null; reason: 'replaced' | 'removed' | 'closed' };
  /** A plugin file failed to import, validate or set up; the old version, if any, keeps serving. */
  'plugin.failed': { file: string | null; name?: string; error: unknown };
  /** The NLU finished training on the loaded plugins' examples. */
  'nlu.trained': { examples: number; intents: number; durationMs: number };
  /** A failure that no caller will see, such as a plugin throwing in `handle()`. */
  error: { error: unknown; sessionId?: string; traceId?: string; plugin?: string };
}

/** Session pool figures. */
export interface SessionPoolStats {
  size: number;
  hits: number;
  misses: number;
  hitRate: number;
  evictions: number;
  expirations: number;
}

/** What `engine.stats()` returns. */
export interface EngineStats {
  turns: number;
  errors: number;
  fallbacks: Record<FallbackReason, number>;
  outOfScope: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  breaker: { state: BreakerState; opens: number };
  sessions: SessionPoolStats;
  plugins: { active: number; failed: number };
  nlu: { provider: string; trained: boolean; training: boolean };
}

/**
 * A persistent home for sessions behind the in-process pool. The default
 * keeps them in memory; a host that scales out brings a shared one.
 */
export interface SessionStore {
  get(id: string): Promise<Session | undefined>;
  set(id: string, session: Session, ttlMs: number): Promise<void>;
  delete(id: string): Promise<void>;
  close?(): Promise<void>;
}

/** An event listener of the engine's typed map. */
export type EngineListener<E extends keyof EngineEvents> = (payload: EngineEvents[E]) => void;

/** The plugin registry of an engine. */
export interface PluginRegistry {
  /** Every plugin the engine knows, active or failed. */
  list(): PluginInfo[];
  /** Imports a plugin file (again); resolves with its state after the swap. */
  load(file: string): Promise<PluginInfo>;
  /** Unloads the plugin with this name; resolves once its old version is disposed. */
  unload(name: string): Promise<void>;
}

/** The engine (**contract**): what `createEngine()` resolves to. */
export interface Engine {
  /**
   * Answers one turn. Rejects only with a `KefuError` for bad input or a
   * closed engine; every other failure becomes an out-of-scope reply.
   */
  handle(input: TurnInput): Promise<Reply>;
  on<E extends keyof EngineEvents>(event: E, listener: EngineListener<E>): this;
  once<E extends keyof EngineEvents>(event: E, listener: EngineListener<E>): this;
  off<E extends keyof EngineEvents>(event: E, listener: EngineListener<E>): this;
  readonly plugins: PluginRegistry;
  /** Reads a session without touching its idle timer; `undefined` when unknown. */
  getSession(sessionId: string): Promise<SessionView | undefined>;
  /**
   * Appends a message that did not come through `handle()` (a human agent's
   * answer, a system note) to a session's history.
   */
  recordMessage(sessionId: string, entry: HistoryEntry): Promise<void>;
  /** Resolves once the NLU has trained on the plugins loaded at start-up. */
  ready(): Promise<void>;
  readonly isReady: boolean;
  stats(): EngineStats;
  /** Releases watchers, timers, workers and sockets; the process can exit after it. */
  close(): Promise<void>;
}
