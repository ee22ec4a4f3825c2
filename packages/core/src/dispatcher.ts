import { performance } from 'node:perf_hooks';

import { KefuError } from './errors.js';
import { wallClock } from './internal/clock.js';
import { hasCjk } from './text.js';
import type { TurnStats } from './internal/turn-stats.js';
import { silentLogger, type Logger } from './logger.js';
import type { NluGuard } from './nlu-guard.js';
import type {
  EngineEmitter,
  IntentRoute,
  PluginHost,
  PluginRegistry,
  PluginVersion,
} from './plugin-host.js';
import type { SessionPool } from './session-pool.js';
import type {
  Detection,
  FallbackReason,
  NluResult,
  IntentScore,
  NoMatchReason,
  PluginReply,
  Reply,
  ReplyAction,
  ReplySource,
  Session,
  SessionView,
  Turn,
} from './types.js';

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions {
  emitter: EngineEmitter;
  pool: SessionPool;
  guard: NluGuard;
  host: PluginHost;
  stats: TurnStats;
  logger: Logger;
  logText: boolean;
  threshold: number;
  ambiguityMargin: number;
  handlerTimeoutMs: number;
  outOfScopeReply: { en: string; zh: string };
  /** Called when a turn is over, answered or not, with the `lane` it was run with. */
  onTurnEnd: (lane: unknown) => void;
}

/** One ranked candidate of a turn, as the decision sees it. */
interface Candidate extends IntentScore {
  source?: ReplySource;
  slots?: Record<string, unknown>;
  reply?: string;
}

/** What a turn carries from its decision to its reply. */
interface TurnFacts {
  session: Session;
  text: string;
  traceId: string;
  /** The number an engine-made trace id came from; 0 for a given one. */
  traceSeq: number;
  startedAt: number;
  candidates: IntentScore[];
}

const OOS = 'oos';
const MAX_CANDIDATES = 3;

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function byScore(a: IntentScore, b: IntentScore): number {
  return b.score - a.score;
}

/** Turns `promise` into one that rejects with `CORE_PLUGIN_TIMEOUT` after `ms`. */
function withBudget<T>(
  promise: PromiseLike<T>,
  ms: number,
  turn: TurnContext | undefined,
  plugin: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      turn?.abort();
      reject(
        new KefuError('CORE_PLUGIN_TIMEOUT', `plugin "${plugin}" did not answer within ${ms} ms`),
      );
    }, ms);

    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}

/**
 * What `handle()` receives. The logger and the abort signal are made on
 * first use: most plugins touch neither, and a turn should not pay for them.
 */
class TurnContext implements Turn {
  readonly sessionId: string;
  readonly traceId: string;
  readonly text: string;
  readonly intent: string;
  readonly score: number;
  readonly source: ReplySource;
  readonly session: SessionView;
  readonly slots: Record<string, unknown>;
  readonly #baseLogger: Logger;
  readonly #pluginId: string;
  #logger: Logger | undefined;
  #controller: AbortController | undefined;
  #aborted = false;

  constructor(
    facts: TurnFacts,
    winner: Candidate,
    source: ReplySource,
    baseLogger: Logger,
    pluginId: string,
  ) {
    const session = facts.session;

    this.sessionId = session.id;
    this.traceId = facts.traceId;
    this.text = facts.text;
    this.intent = winner.intent;
    this.score = winner.score;
    this.source = source;
    this.session = session;
    this.slots = winner.slots === undefined ? session.slots : { ...session.slots, ...winner.slots };
    this.#baseLogger = baseLogger;
    this.#pluginId = pluginId;
  }

  get logger(): Logger {
    this.#logger ??=
      this.#baseLogger === silentLogger
        ? silentLogger
        : this.#baseLogger.child({
            sessionId: this.sessionId,
            traceId: this.traceId,
            pluginId: this.#pluginId,
          });

    return this.#logger;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();

      if (this.#aborted) this.#controller.abort();
    }

    return this.#controller.signal;
  }

  abort(): void {
    this.#aborted = true;
    this.#controller?.abort(new KefuError('CORE_PLUGIN_TIMEOUT', 'the plugin ran out of time'));
  }
}

type ReplyObject = Exclude<PluginReply, string>;

/** Throws `CORE_PLUGIN_FAILED` unless `value` is a reply object with a text. */
function checkReply(value: unknown, plugin: string): asserts value is ReplyObject {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as ReplyObject).text !== 'string'
  ) {
    throw new KefuError('CORE_PLUGIN_FAILED', `plugin "${plugin}" returned a reply without a text`);
  }
}

/** The actions of a reply object, quick replies included. */
function replyActions(value: ReplyObject): ReplyAction[] {
  const actions: ReplyAction[] = Array.isArray(value.actions) ? value.actions.slice() : [];

  if (Array.isArray(value.quickReplies) && value.quickReplies.length > 0) {
    actions.push({ type: 'quickReplies', options: value.quickReplies });
  }

  return actions;
}

/**
 * Runs one turn: session, NLU (or rules), `detect()`, the decision, the
 * winning plugin's `handle()` within its budget, the session update and the
 * events. Per-session ordering is the engine's job; this class only runs a
 * turn it is handed, and calls `onTurnEnd` when it is over.
 *
 * The turn is one async function on purpose: each extra async layer costs a
 * promise and a microtask per turn, and the steps that can answer
 * synchronously (a pool hit, the rules, `detect()`, `handle()`) are only
 * awaited when they return a promise.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #isLogging: boolean;
  // Whether anyone listens to the events a turn builds a payload for, as of
  // the emitter's `changes` count `#changes` (see ListenedEmitter).
  #changes = -1;
  #isMessageIn = false;
  #isIntentDetected = false;
  #isReplyOut = false;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#isLogging = options.logger !== silentLogger;
  }

  #listen(): void {
    const emitter = this.#o.emitter;

    this.#changes = emitter.changes;
    this.#isMessageIn = emitter.listenerCount('message.in') > 0;
    this.#isIntentDetected = emitter.listenerCount('intent.detected') > 0;
    this.#isReplyOut = emitter.listenerCount('reply.out') > 0;
  }

  /** Runs a validated turn; never rejects except on a bug. */
  async run(
    sessionId: string,
    text: string,
    traceId: string,
    traceSeq: number,
    startedAt: number,
    lane: unknown,
    held?: Session,
  ): Promise<Reply> {
    const o = this.#o;
    const emitter = o.emitter;
    let registry: PluginRegistry | undefined;

    try {
      if (emitter.changes !== this.#changes) this.#listen();

      if (this.#isMessageIn) {
        emitter.emit('message.in', { sessionId, traceId, length: text.length });
      }

      const acquired =
        held === undefined
          ? o.pool.acquire(sessionId, traceId)
          : o.pool.acquireHeld(held, traceId, wallClock(startedAt));
      const session = isThenable(acquired) ? await acquired : acquired;
      const guard = o.guard;
      let intents: readonly Candidate[];
      let source: 'nlu' | 'rules' = 'rules';
      let isFallback = false;

      if (guard.canClassify) {
        try {
          intents = await guard.fire(text, session);

          if (!Array.isArray(intents))
            throw new TypeError('the NLU provider answered without a list of intents');

          source = 'nlu';
        } catch (cause) {
          isFallback = true;
          this.#fallback(sessionId, traceId, guard.explain(cause));

          const matched = guard.matchRules(text, session);

          intents = isThenable(matched) ? await matched : matched;
        }
      } else {
        const skip = guard.skipped();

        if (skip !== undefined) {
          isFallback = true;
          this.#fallback(sessionId, traceId, skip);
        }

        const matched = guard.matchRules(text, session);

        intents = isThenable(matched) ? await matched : matched;
      }

      registry = o.host.acquire();

      let detected: (Candidate | undefined)[] | undefined;

      if (registry.detectors.length > 0) {
        const pending = this.#detect(session, text, traceId, { intents, source }, registry);

        detected = isThenable(pending) ? await pending : pending;
      }

      const ranked = this.#rank(intents, source, registry, detected);
      const best = ranked[0];
      const route = best === undefined ? undefined : registry.routes.get(best.intent);
      const reason = this.#choose(ranked, route, isFallback);
      const owner = reason === undefined ? route?.owner : undefined;
      const candidates = ranked.length > MAX_CANDIDATES ? ranked.slice(0, MAX_CANDIDATES) : ranked;
      const winnerSource: ReplySource = best?.source ?? source;

      if (emitter.changes !== this.#changes) this.#listen();

      if (this.#isIntentDetected) {
        emitter.emit('intent.detected', {
          sessionId,
          traceId,
          intent: reason === undefined ? (best as Candidate).intent : OOS,
          score: best?.score ?? 0,
          source: reason === undefined ? winnerSource : 'fallback',
          plugin: owner?.name ?? null,
          ...(reason === undefined ? {} : { reason }),
          candidates,
        });
      }

      const facts: TurnFacts = { session, text, traceId, traceSeq, startedAt, candidates };
      let reply: Reply;

      if (reason !== undefined || best === undefined) {
        reply = this.#outOfScope(facts, best?.score ?? 0, reason ?? 'out_of_scope');
      } else if (owner === undefined) {
        // An intent no plugin answers wins only through a rule that carries
        // its own reply; anything else was filtered out while ranking.
        const text = best.reply ?? '';

        reply = this.#finish(facts, text, [], undefined, best, 'rules', null, undefined);
      } else {
        let value: PluginReply | undefined;

        try {
          const turn = new TurnContext(facts, best, winnerSource, o.logger, owner.name);
          const result = owner.plugin.handle.call(owner.plugin, turn);

          value =
            typeof result === 'string' || !isThenable(result)
              ? result
              : await withBudget(result, o.handlerTimeoutMs, turn, owner.name);

          if (typeof value !== 'string') checkReply(value, owner.name);
        } catch (error) {
          this.#pluginError(error, owner, sessionId, traceId);
          value = undefined;
        }

        reply =
          value === undefined
            ? this.#outOfScope(facts, best.score, 'plugin_failed')
            : typeof value === 'string'
              ? this.#finish(facts, value, [], undefined, best, winnerSource, owner, undefined)
              : this.#finish(
                  facts,
                  value.text,
                  replyActions(value),
                  value.slots,
                  best,
                  winnerSource,
                  owner,
                  undefined,
                );
      }

      const saving = o.pool.save(session);

      if (saving !== undefined) await saving;

      if (emitter.changes !== this.#changes) this.#listen();

      if (this.#isReplyOut) emitter.emit('reply.out', { sessionId, traceId, reply });

      return reply;
    } catch (error) {
      return this.#failed(error, sessionId, text, traceId, startedAt);
    } finally {
      if (registry !== undefined) o.host.release(registry);

      o.onTurnEnd(lane);
    }
  }

  /**
   * The last resort when a turn breaks in a way nothing above caught (a
   * provider or matcher answering with a malformed list, say): the visitor
   * gets the out-of-scope text, the host an `error` event, and the session
   * is left as it was.
   */
  #failed(
    error: unknown,
    sessionId: string,
    text: string,
    traceId: string,
    startedAt: number,
  ): Reply {
    const o = this.#o;
    const texts = o.outOfScopeReply;

    o.stats.errors++;
    o.logger.error({ err: error, sessionId, traceId }, 'turn failed, answering out of scope');
    o.emitter.emit('error', { error, sessionId, traceId });

    return {
      sessionId,
      traceId,
      intent: OOS,
      score: 0,
      source: 'fallback',
      plugin: null,
      text: hasCjk(text) ? texts.zh : texts.en,
      actions: [],
      latencyMs: performance.now() - startedAt,
      reason: 'out_of_scope',
      candidates: [],
    };
  }

  #fallback(
    sessionId: string,
    traceId: string,
    why: { reason: FallbackReason; error: KefuError },
  ): void {
    const o = this.#o;

    o.stats.fallbacks[why.reason]++;
    o.emitter.emit('nlu.fallback', { sessionId, traceId, reason: why.reason, error: why.error });
  }

  /** Why no candidate wins, or `undefined` when the best one does. */
  #choose(
    ranked: Candidate[],
    route: IntentRoute | undefined,
    isFallback: boolean,
  ): NoMatchReason | undefined {
    const best = ranked[0];

    if (best === undefined) return isFallback ? 'nlu_fallback' : 'out_of_scope';

    if (best.intent === OOS) return 'out_of_scope';

    const threshold = route?.threshold ?? this.#o.threshold;
    const runnerUp = ranked[1];

    if (best.score < threshold) return isFallback ? 'nlu_fallback' : 'below_threshold';

    if (runnerUp !== undefined && best.score - runnerUp.score < this.#o.ambiguityMargin)
      return 'ambiguous';

    return undefined;
  }

  /** Calls every `detect()`; a throwing or late detector is reported and skipped. */
  #detect(
    session: Session,
    text: string,
    traceId: string,
    nlu: NluResult,
    registry: PluginRegistry,
  ): (Candidate | undefined)[] | Promise<(Candidate | undefined)[]> {
    const detectors = registry.detectors;
    const out: (Candidate | undefined)[] = new Array<Candidate | undefined>(detectors.length);
    let waits: Promise<void>[] | undefined;

    for (let i = 0; i < detectors.length; i++) {
      const version = detectors[i] as PluginVersion;

      try {
        const result = (version.plugin.detect as NonNullable<typeof version.plugin.detect>).call(
          version.plugin,
          text,
          session,
          nlu,
        );

        if (!isThenable(result)) {
          out[i] = this.#toCandidate(version, result);
          continue;
        }

        waits ??= [];
        waits.push(
          withBudget(result, this.#o.handlerTimeoutMs, undefined, version.name).then(
            (value) => {
              out[i] = this.#toCandidate(version, value);
            },
            (error: unknown) => this.#pluginError(error, version, session.id, traceId),
          ),
        );
      } catch (error) {
        this.#pluginError(error, version, session.id, traceId);
      }
    }

    return waits === undefined ? out : Promise.all(waits).then(() => out);
  }

  #toCandidate(
    version: PluginVersion,
    value: number | Detection | null | undefined,
  ): Candidate | undefined {
    if (value === null || value === undefined) return undefined;

    if (typeof value === 'number') {
      return Number.isFinite(value) && value > 0
        ? { intent: version.firstIntent, score: Math.min(1, value), source: 'plugin' }
        : undefined;
    }

    if (typeof value !== 'object' || typeof value.score !== 'number' || !(value.score > 0))
      return undefined;

    const intent = value.intent ?? version.firstIntent;

    // A plugin may only vouch for its own intents.
    if (!version.intentNames.has(intent)) return undefined;

    const candidate: Candidate = { intent, score: Math.min(1, value.score), source: 'plugin' };

    if (value.slots !== undefined) candidate.slots = value.slots;

    return candidate;
  }

  /**
   * Keeps the candidates that can be answered (a plugin's intent, a rule
   * that carries a reply, or `oos`), merges in the detections (the higher
   * score of an intent wins) and sorts them best first.
   */
  #rank(
    intents: readonly Candidate[],
    source: 'nlu' | 'rules',
    registry: PluginRegistry,
    detected: (Candidate | undefined)[] | undefined,
  ): Candidate[] {
    const routes = registry.routes;
    // Usually every candidate can be answered: then one exact-size copy
    // rather than an array grown entry by entry.
    let kept: Candidate[] | undefined;

    for (let i = 0; i < intents.length; i++) {
      const entry = intents[i] as Candidate;
      const isKept =
        routes.has(entry.intent) ||
        entry.intent === OOS ||
        (source === 'rules' && typeof entry.reply === 'string');

      if (kept === undefined) {
        if (!isKept) kept = intents.slice(0, i);
      } else if (isKept) {
        kept.push(entry);
      }
    }

    const ranked = kept ?? intents.slice();

    if (detected !== undefined) {
      for (const candidate of detected) {
        if (candidate === undefined) continue;

        const at = ranked.findIndex((entry) => entry.intent === candidate.intent);

        if (at === -1) ranked.push(candidate);
        else if ((ranked[at] as Candidate).score < candidate.score) ranked[at] = candidate;
        else if (candidate.slots !== undefined)
          ranked[at] = { ...(ranked[at] as Candidate), slots: candidate.slots };
      }
    }

    // Lists come ranked from the NLU and the rules; sort only when they do not.
    for (let i = 1; i < ranked.length; i++) {
      if ((ranked[i] as Candidate).score > (ranked[i - 1] as Candidate).score) {
        ranked.sort(byScore);
        break;
      }
    }

    return ranked;
  }

  #pluginError(error: unknown, version: PluginVersion, sessionId: string, traceId: string): void {
    const o = this.#o;
    const wrapped =
      error instanceof KefuError
        ? error
        : new KefuError('CORE_PLUGIN_FAILED', `plugin "${version.name}" failed`, {
            cause: error,
            details: { name: version.name },
          });

    o.stats.errors++;
    o.logger.warn(
      { err: wrapped, sessionId, traceId, pluginId: version.name },
      'plugin failed, answering out of scope',
    );
    o.emitter.emit('error', { error: wrapped, sessionId, traceId, plugin: version.name });
  }

  #outOfScope(facts: TurnFacts, score: number, reason: NoMatchReason): Reply {
    const texts = this.#o.outOfScopeReply;

    const text = hasCjk(facts.text) ? texts.zh : texts.en;

    const outcome = { intent: OOS, score };

    return this.#finish(facts, text, [], undefined, outcome, 'fallback', null, reason);
  }

  /**
   * Updates the session and builds the reply to `answer`, for `winner`'s
   * intent and score (`oos` and the best score when `reason` says why
   * nothing won); the caller saves the session. Positional rather than one
   * options object: this runs on every turn.
   */
  #finish(
    facts: TurnFacts,
    answer: string,
    actions: ReplyAction[],
    slots: Record<string, unknown> | undefined,
    winner: IntentScore,
    source: ReplySource,
    owner: PluginVersion | null,
    reason: NoMatchReason | undefined,
  ): Reply {
    const { session, text, traceId } = facts;
    const { intent, score } = winner;
    const o = this.#o;
    // The pool stamped the session when the turn took it: one clock read less.
    const now = session.updatedAt;

    session.turns++;
    o.pool.appendTurn(session, text, answer, now, intent, traceId, facts.traceSeq);

    if (reason === undefined) session.lastIntent = intent;

    if (slots !== undefined) {
      for (const key of Object.keys(slots)) {
        const value = slots[key];

        if (value === null) delete session.slots[key];
        else session.slots[key] = value;
      }
    }

    const reply: Reply = {
      sessionId: session.id,
      traceId,
      intent,
      score,
      source,
      plugin: owner === null ? null : owner.ref,
      text: answer,
      actions,
      latencyMs: performance.now() - facts.startedAt,
      candidates: facts.candidates,
    };

    if (reason !== undefined) {
      reply.reason = reason;
      o.stats.outOfScope++;
    }

    o.stats.turns++;
    o.stats.recordLatency(reply.latencyMs);

    if (this.#isLogging) {
      const fields: Record<string, unknown> = {
        sessionId: session.id,
        traceId,
        intent,
        confidence: score,
        source,
        pluginId: owner?.name,
        reason,
        durationMs: reply.latencyMs,
      };

      if (o.logText) fields.text = text;

      o.logger.debug(fields, 'turn answered');
    }

    return reply;
  }
}
