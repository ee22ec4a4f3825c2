import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { Dispatcher } from './dispatcher.js';
import { KefuError, type KefuErrorCode } from './errors.js';
import { LANE, RUNNING, TurnLane } from './internal/lane.js';
import { ListenedEmitter } from './internal/listened-emitter.js';
import { PooledSession } from './internal/pooled-session.js';
import { nextTraceSeq, traceIdOf } from './internal/trace-id.js';
import { TurnStats } from './internal/turn-stats.js';
import { silentLogger, type Logger } from './logger.js';
import { NluGuard } from './nlu-guard.js';
import { resolveOptions, type EngineOptions, type ResolvedOptions } from './options.js';
import { PluginHost, type EngineEmitter } from './plugin-host.js';
import { SessionPool } from './session-pool.js';
import { MemorySessionStore } from './session-store.js';
import type {
  Engine,
  EngineEvents,
  EngineListener,
  EngineStats,
  HistoryEntry,
  PluginRegistry,
  Reply,
  Session,
  SessionView,
  TurnInput,
} from './types.js';

/** A turn or a history note waiting for its session's earlier turns. */
interface Job {
  sessionId: string;
  text: string;
  traceId: string;
  /** The number an engine-made trace id came from; 0 for a given one. */
  traceSeq: number;
  startedAt: number;
  entry: HistoryEntry | undefined;
  resolve: (value: Reply) => void;
  reject: (error: unknown) => void;
}

function invalid(code: KefuErrorCode, message: string): Promise<never> {
  return Promise.reject(new KefuError(code, message));
}

const WHITESPACE_ONLY = /^\s*$/u;

// Node 20 has String.prototype.isWellFormed; the ES2023 lib typings do not.
type WellFormedCheck = string & { isWellFormed(): boolean };

/**
 * The engine behind {@link createEngine}. Turns of one session run one at a
 * time in arrival order (a queue per busy session, none for idle ones);
 * turns of different sessions run concurrently.
 */
class KefuEngine implements Engine {
  readonly #options: ResolvedOptions;
  readonly #emitter: EngineEmitter;
  readonly #logger: Logger;
  readonly #pool: SessionPool;
  readonly #guard: NluGuard;
  readonly #host: PluginHost;
  readonly #dispatcher: Dispatcher;
  readonly #stats = new TurnStats();
  /** Lanes of busy sessions the pool does not carry (see {@link TurnLane}). */
  readonly #lanes = new Map<string, TurnLane<Job>>();
  #running = 0;
  #idle: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #isReady = false;
  #ready: Promise<void>;
  #markReady: () => void = () => {};
  #trainTimer: NodeJS.Timeout | undefined;
  #isTraining = false;
  #isTrainPending = false;
  #hasStarted = false;
  #trainedSignature: string | undefined;
  readonly plugins: PluginRegistry;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;

    const emitter: EngineEmitter = new ListenedEmitter();
    const sessions = options.sessions;
    const breaker = options.nlu.breaker;

    this.#emitter = emitter;
    this.#ready = new Promise((done) => {
      this.#markReady = done;
    });
    this.#pool = new SessionPool({
      max: sessions.max,
      ttlMs: sessions.ttlMs,
      historyMax: sessions.historyMax,
      sweepIntervalMs: sessions.sweepIntervalMs,
      store:
        sessions.store ?? new MemorySessionStore({ max: sessions.max * 2, ttlMs: sessions.ttlMs }),
      onStart: (sessionId, traceId) => {
        emitter.emit(
          'session.start',
          traceId === undefined ? { sessionId } : { sessionId, traceId },
        );
      },
      onEnd: (sessionId, reason, session) => {
        // A session that leaves the pool mid-turn hands its lane to the map,
        // so that the turns arriving meanwhile still queue behind it.
        const lane = session instanceof PooledSession ? this.#laneOfHeld(session) : undefined;

        if (lane !== undefined && !lane.inMap) {
          lane.inMap = true;
          this.#lanes.set(sessionId, lane);
        }

        emitter.emit('session.end', { sessionId, reason });
      },
      onStoreError: (error, sessionId) => {
        this.#stats.errors++;
        emitter.emit('error', {
          error: new KefuError('CORE_SESSION_STORE_FAILED', 'the session store failed', {
            cause: error,
          }),
          sessionId,
        });
      },
    });
    this.#guard = new NluGuard({
      provider: options.nlu.provider,
      rules: options.rules,
      timeoutMs: options.nlu.timeoutMs,
      errorThresholdPercentage: breaker.errorThresholdPercentage,
      volumeThreshold: breaker.volumeThreshold,
      resetTimeoutMs: breaker.resetTimeoutMs,
      rollingCountTimeoutMs: breaker.rollingCountTimeoutMs,
      rollingCountBuckets: breaker.rollingCountBuckets,
      onBreaker: (state) => {
        const event =
          state === 'open'
            ? 'breaker.open'
            : state === 'halfOpen'
              ? 'breaker.halfOpen'
              : 'breaker.close';

        if (state === 'open')
          this.#logger.warn({ breakerState: state }, 'NLU breaker open, answering from rules');
        else this.#logger.info({ breakerState: state }, 'NLU breaker changed state');

        emitter.emit(event, { state });
      },
      onRulesError: (error) => {
        this.#stats.errors++;
        emitter.emit('error', { error });
      },
    });
    this.#host = new PluginHost({
      emitter,
      logger: this.#logger,
      rules: options.rules,
      debounceMs: options.plugins.debounceMs,
      // Changes during start-up are covered by the first training, which
      // `start()` begins once every start-up plugin has loaded.
      onChange: () => {
        if (this.#hasStarted) this.#scheduleTraining();
      },
    });
    this.#dispatcher = new Dispatcher({
      emitter,
      pool: this.#pool,
      guard: this.#guard,
      host: this.#host,
      stats: this.#stats,
      logger: this.#logger,
      logText: options.logText,
      threshold: options.threshold,
      ambiguityMargin: options.ambiguityMargin,
      handlerTimeoutMs: options.handlerTimeoutMs,
      outOfScopeReply: options.outOfScopeReply,
      onTurnEnd: (token) => {
        this.#running--;
        this.#next(token as TurnLane<Job> | PooledSession);
      },
    });

    const host = this.#host;

    this.plugins = {
      list: () => host.list(),
      load: (file) => (this.#closed ? this.#closedError() : host.load(file)),
      unload: (name) => (this.#closed ? this.#closedError() : host.unload(name)),
    };
  }

  /** Loads the start-up plugins and begins the first training. */
  async start(): Promise<void> {
    const plugins = this.#options.plugins;

    await this.#host.start(plugins.files, plugins.dir, plugins.watch);
    this.#hasStarted = true;

    if (this.#options.nlu.provider === undefined) {
      // Nothing to train: the rules answer from the first turn.
      this.#isReady = true;
      this.#markReady();

      return;
    }

    // One turn of the event loop later, so that listeners attached right
    // after `await createEngine()` still see the first `nlu.trained`.
    setImmediate(() => {
      if (!this.#closed) void this.#train();
    });
  }

  get isReady(): boolean {
    return this.#isReady;
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  handle(input: TurnInput): Promise<Reply> {
    const startedAt = performance.now();

    if (this.#closed) return this.#closedError();

    if (typeof input !== 'object' || input === null) {
      return invalid('CORE_INPUT_INVALID', 'expected a turn object { sessionId, text }');
    }

    const { sessionId, text } = input;

    if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 256) {
      return invalid(
        'CORE_SESSION_ID_INVALID',
        'expected sessionId to be a string of 1 to 256 characters',
      );
    }

    if (typeof text !== 'string')
      return invalid('CORE_TEXT_INVALID', `expected text to be a string, got ${typeof text}`);

    if (text.length > this.#options.maxTextLength) {
      return invalid(
        'CORE_TEXT_TOO_LONG',
        `expected at most ${this.#options.maxTextLength} characters, got ${text.length}`,
      );
    }

    // Most texts start with a visible ASCII character: skip the regex then.
    const first = text.charCodeAt(0);

    if (!(first > 0x20 && first < 0x7f) && WHITESPACE_ONLY.test(text))
      return invalid('CORE_TEXT_EMPTY', 'expected a text with something besides whitespace');

    if (!(text as WellFormedCheck).isWellFormed())
      return invalid(
        'CORE_TEXT_MALFORMED',
        'expected well-formed UTF-16 text, got a lone surrogate',
      );

    const given = input.traceId;
    let traceId: string;
    let traceSeq = 0;

    if (given === undefined) {
      traceSeq = nextTraceSeq();
      traceId = traceIdOf(traceSeq);
    } else if (typeof given === 'string' && given.length > 0 && given.length <= 128) {
      traceId = given;
    } else {
      return invalid(
        'CORE_INPUT_INVALID',
        'expected traceId to be a string of 1 to 128 characters',
      );
    }

    const lanes = this.#lanes;
    const mapped = lanes.size === 0 ? undefined : lanes.get(sessionId);
    let held: Session | undefined;

    if (mapped === undefined) {
      held = this.#pool.touch(sessionId);

      // The common case: a session in the pool with no turn in flight. It
      // is marked busy and starts at once, with the session found.
      if (held instanceof PooledSession && held[LANE] === undefined) {
        held[LANE] = RUNNING;

        return this.#runTurn(sessionId, held, text, traceId, traceSeq, startedAt, held);
      }
    }

    const lane = mapped ?? this.#laneOf(sessionId, held);
    const waiting = lane.jobs;

    if (waiting === undefined) {
      lane.jobs = null;

      return this.#runTurn(sessionId, lane, text, traceId, traceSeq, startedAt, undefined);
    }

    return new Promise<Reply>((resolve, reject) => {
      const job: Job = {
        sessionId,
        text,
        traceId,
        traceSeq,
        startedAt,
        entry: undefined,
        resolve,
        reject,
      };

      if (waiting === null) lane.jobs = [job];
      else waiting.push(job);
    });
  }

  /**
   * The lane of a session (`held`, when the pool holds it): its own while a
   * turn is in flight, else a new idle one (`jobs` undefined), carried by
   * the pooled session when the pool holds it and by the map otherwise.
   * The map is read only when it holds something, which is rare once
   * sessions are warm.
   */
  #laneOf(sessionId: string, held: Session | undefined): TurnLane<Job> {
    const lanes = this.#lanes;
    const mapped = lanes.size === 0 ? undefined : lanes.get(sessionId);

    if (mapped !== undefined) return mapped;

    if (held instanceof PooledSession) {
      const own = this.#laneOfHeld(held);

      if (own !== undefined) return own;

      const lane = new TurnLane<Job>(sessionId, held);

      held[LANE] = lane;

      return lane;
    }

    const lane = new TurnLane<Job>(sessionId, undefined);

    lane.inMap = true;
    lanes.set(sessionId, lane);

    return lane;
  }

  /**
   * The lane a pooled session carries, made from its {@link RUNNING} mark
   * (one turn running, none waiting) when it has only that.
   */
  #laneOfHeld(held: PooledSession): TurnLane<Job> | undefined {
    const state = held[LANE];

    if (state !== RUNNING) return state as TurnLane<Job> | undefined;

    const lane = new TurnLane<Job>(held.id, held);

    lane.jobs = null;
    held[LANE] = lane;

    return lane;
  }

  /** Runs a turn; `token` (a lane or a marked session) goes back to `#next` at its end. */
  #runTurn(
    sessionId: string,
    token: TurnLane<Job> | PooledSession,
    text: string,
    traceId: string,
    traceSeq: number,
    startedAt: number,
    held: Session | undefined,
  ): Promise<Reply> {
    this.#running++;

    return this.#dispatcher.run(sessionId, text, traceId, traceSeq, startedAt, token, held);
  }

  /** Starts the next job of a lane, or retires the lane or the session's mark. */
  #next(token: TurnLane<Job> | PooledSession): void {
    let lane: TurnLane<Job>;

    if (token instanceof PooledSession) {
      const state = token[LANE];

      if (state === RUNNING || state === undefined) {
        token[LANE] = undefined;

        if (this.#running === 0 && this.#idle !== undefined) this.#idle();

        return;
      }

      lane = state as TurnLane<Job>;
    } else {
      lane = token;
    }

    const jobs = lane.jobs;
    const job = jobs === null || jobs === undefined ? undefined : jobs.shift();

    if (job === undefined) {
      lane.jobs = undefined;

      if (lane.holder !== undefined && lane.holder[LANE] === lane) lane.holder[LANE] = undefined;

      if (lane.inMap) {
        lane.inMap = false;
        this.#lanes.delete(lane.sessionId);
      }

      if (this.#running === 0 && this.#idle !== undefined) this.#idle();

      return;
    }

    if ((jobs as Job[]).length === 0) lane.jobs = null;

    if (job.entry !== undefined) {
      this.#runNote(lane, job.entry).then(() => job.resolve(undefined as never), job.reject);
    } else {
      this.#runTurn(
        lane.sessionId,
        lane,
        job.text,
        job.traceId,
        job.traceSeq,
        job.startedAt,
        undefined,
      ).then(
        job.resolve,
        job.reject,
      );
    }
  }

  async #runNote(lane: TurnLane<Job>, entry: HistoryEntry): Promise<void> {
    const sessionId = lane.sessionId;

    this.#running++;

    try {
      const acquired = this.#pool.acquire(sessionId, entry.traceId);
      const session = acquired instanceof Promise ? await acquired : acquired;

      this.#pool.appendHistory(session, { ...entry });
      session.updatedAt = Date.now();
      await this.#pool.save(session);
    } finally {
      this.#running--;
      this.#next(lane);
    }
  }

  recordMessage(sessionId: string, entry: HistoryEntry): Promise<void> {
    if (this.#closed) return this.#closedError();

    if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 256) {
      return invalid(
        'CORE_SESSION_ID_INVALID',
        'expected sessionId to be a string of 1 to 256 characters',
      );
    }

    if (typeof entry !== 'object' || entry === null || typeof entry.text !== 'string') {
      return invalid('CORE_TEXT_INVALID', 'expected a history entry with a text');
    }

    if (!['visitor', 'bot', 'agent'].includes(entry.from) || typeof entry.at !== 'number') {
      return invalid(
        'CORE_INPUT_INVALID',
        'expected a history entry { from: visitor|bot|agent, text, at }',
      );
    }

    const lane = this.#laneOf(sessionId, this.#pool.peek(sessionId));
    const waiting = lane.jobs;

    if (waiting === undefined) {
      lane.jobs = null;

      return this.#runNote(lane, entry);
    }

    return new Promise<void>((resolve, reject) => {
      const job: Job = {
        sessionId,
        text: entry.text,
        traceId: '',
        traceSeq: 0,
        startedAt: 0,
        entry,
        resolve: resolve as unknown as (value: Reply) => void,
        reject,
      };

      if (waiting === null) lane.jobs = [job];
      else waiting.push(job);
    });
  }

  async getSession(sessionId: string): Promise<SessionView | undefined> {
    if (typeof sessionId !== 'string' || sessionId.length === 0) return undefined;

    return this.#pool.read(sessionId);
  }

  on<E extends keyof EngineEvents>(event: E, listener: EngineListener<E>): this {
    this.#emitter.on(event, listener as never);

    return this;
  }

  once<E extends keyof EngineEvents>(event: E, listener: EngineListener<E>): this {
    this.#emitter.once(event, listener as never);

    return this;
  }

  off<E extends keyof EngineEvents>(event: E, listener: EngineListener<E>): this {
    this.#emitter.off(event, listener as never);

    return this;
  }

  stats(): EngineStats {
    const stats = this.#stats;
    const list = this.#host.list();

    return {
      turns: stats.turns,
      errors: stats.errors,
      fallbacks: { ...stats.fallbacks },
      outOfScope: stats.outOfScope,
      latencyMs: stats.latency(),
      breaker: { state: this.#guard.state, opens: this.#guard.opens },
      sessions: this.#pool.stats(),
      plugins: {
        active: list.filter((p) => p.state === 'active').length,
        failed: list.filter((p) => p.state === 'failed').length,
      },
      nlu: {
        provider: this.#options.nlu.provider?.name ?? 'none',
        trained: this.#guard.isTrained,
        training: this.#isTraining,
      },
    };
  }

  #closedError(): Promise<never> {
    return Promise.reject(new KefuError('CORE_ENGINE_CLOSED', 'the engine is closed'));
  }

  #scheduleTraining(): void {
    if (this.#closed || this.#options.nlu.provider === undefined) return;

    if (this.#isTraining) {
      this.#isTrainPending = true;

      return;
    }

    if (this.#trainTimer !== undefined) clearTimeout(this.#trainTimer);

    this.#trainTimer = setTimeout(() => {
      this.#trainTimer = undefined;
      void this.#train();
    }, this.#options.nlu.retrainDebounceMs);
    this.#trainTimer.unref();
  }

  /**
   * Trains the provider on the active plugins' examples, in the background:
   * the provider's previous model serves until `train()` resolves. A change
   * that leaves the examples as they were (a new `handle()`, say) skips it.
   */
  async #train(): Promise<void> {
    const provider = this.#options.nlu.provider;

    // A retraining that falls due while one runs (the folder's plugins ask
    // for one while the first training is under way) waits for it instead
    // of training the provider twice at once.
    if (this.#isTraining) {
      this.#isTrainPending = true;

      return;
    }

    this.#isTraining = true;

    try {
      if (provider === undefined) return;

      const examples = this.#host.examples();
      const signature = createHash('sha1').update(JSON.stringify(examples)).digest('hex');

      if (examples.length === 0 || signature === this.#trainedSignature) return;

      const started = performance.now();

      await provider.train(examples);

      if (this.#closed) return;

      this.#trainedSignature = signature;
      this.#guard.markTrained();

      const intents = new Set(examples.map((e) => e.intent)).size;
      const durationMs = performance.now() - started;

      this.#logger.info({ examples: examples.length, intents, durationMs }, 'NLU trained');
      this.#emitter.emit('nlu.trained', { examples: examples.length, intents, durationMs });
    } catch (error) {
      this.#stats.errors++;
      this.#logger.error({ err: error }, 'NLU training failed, rules keep answering');
      this.#emitter.emit('error', { error });
    } finally {
      this.#isTraining = false;

      if (!this.#isReady) {
        this.#isReady = true;
        this.#markReady();
      }

      if (this.#isTrainPending) {
        this.#isTrainPending = false;
        this.#scheduleTraining();
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();

    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;

    if (this.#trainTimer !== undefined) clearTimeout(this.#trainTimer);

    this.#isTrainPending = false;

    if (this.#running > 0) {
      await new Promise<void>((done) => {
        this.#idle = done;
      });
    }

    await this.#host.close();
    this.#guard.shutdown();
    await this.#pool.close();

    const results = await Promise.allSettled([
      this.#options.nlu.provider?.close?.(),
      this.#options.rules?.close?.(),
    ]);

    for (const result of results) {
      if (result.status === 'rejected') this.#emitter.emit('error', { error: result.reason });
    }

    if (!this.#isReady) {
      this.#isReady = true;
      this.#markReady();
    }

    this.#logger.info({}, 'engine closed');
    this.#emitter.removeAllListeners();
  }
}

/**
 * Creates an engine: validates the options, loads the plugins, starts the
 * first NLU training in the background (see `engine.ready()`) and resolves.
 *
 * Without an NLU provider the engine answers from the rules and the plugins'
 * `detect()` alone; without rules, a turn the NLU cannot answer gets the
 * out-of-scope reply.
 *
 * @throws KefuError `CORE_OPTIONS_INVALID` when an option is invalid (the
 *   message names the field) or the plugin folder cannot be read.
 */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const resolved = resolveOptions(options);
  const engine = new KefuEngine(resolved);

  try {
    await engine.start();
  } catch (error) {
    await engine.close();
    throw error;
  }

  return engine;
}

export type { EngineOptions };
