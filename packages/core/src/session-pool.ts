import { lru, type LRU } from 'tiny-lru';

import { PooledSession } from './internal/pooled-session.js';
import { MemorySessionStore } from './session-store.js';
import type { HistoryEntry, Session, SessionPoolStats, SessionStore } from './types.js';

/** Why a session left the pool. */
export type SessionEndReason = 'expired' | 'evicted' | 'closed';

/** Options of {@link SessionPool}. */
export interface SessionPoolOptions {
  /** Most sessions held in memory; the least recently used is evicted. */
  max: number;
  /** Idle time after which a session expires. */
  ttlMs: number;
  /**
   * Where sessions live behind the pool: read on a miss, written after each
   * turn (a {@link MemorySessionStore} is written when a session is evicted
   * instead, since it would hold the same object).
   */
  store: SessionStore;
  /** Most history entries kept per session. */
  historyMax: number;
  /** How often idle sessions are swept out. */
  sweepIntervalMs: number;
  /** Called when a session is created (found neither in the pool nor in the store). */
  onStart?: (sessionId: string, traceId: string | undefined) => void;
  /** Called when a session leaves the pool (`session` is absent on close). */
  onEnd?: (sessionId: string, reason: SessionEndReason, session?: Session) => void;
  /** Called when the store fails; the pool keeps serving from memory. */
  onStoreError?: (error: unknown, sessionId: string) => void;
}

const noop = (): void => {};


/**
 * The in-process session cache: tiny-lru for recency and size, an idle TTL
 * swept by an unref'd timer (tiny-lru only expires lazily, and `session.end`
 * must fire on expiry even for a session nobody reads again), and a
 * {@link SessionStore} behind it.
 */
export class SessionPool {
  readonly #cache: LRU<Session>;
  readonly #options: SessionPoolOptions;
  readonly #onStart: (sessionId: string, traceId: string | undefined) => void;
  readonly #onEnd: (sessionId: string, reason: SessionEndReason, session?: Session) => void;
  readonly #onStoreError: (error: unknown, sessionId: string) => void;
  readonly #sweeper: NodeJS.Timeout;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expirations = 0;
  #closed = false;
  readonly #isMemoryStore: boolean;

  constructor(options: SessionPoolOptions) {
    this.#options = options;
    this.#isMemoryStore = options.store instanceof MemorySessionStore;
    this.#onStart = options.onStart ?? noop;
    this.#onEnd = options.onEnd ?? noop;
    this.#onStoreError = options.onStoreError ?? noop;
    // The TTL is kept here rather than in tiny-lru, whose TTL is fixed at
    // insertion: ours is an idle TTL, renewed by every turn.
    this.#cache = lru<Session>(options.max);
    this.#cache.onEvict((item) => {
      this.#evictions++;

      // The in-memory store is written back on eviction only: while a
      // session is in the pool, the store would hold the very same object.
      if (this.#isMemoryStore)
        void options.store.set(item.key as string, item.value, options.ttlMs);

      this.#onEnd(item.key as string, 'evicted', item.value);
    });
    this.#sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs);
    this.#sweeper.unref();
  }

  /** Number of sessions in memory. */
  get size(): number {
    return this.#cache.size;
  }

  /**
   * The session for a turn, renewing its idle timer: from the pool when
   * held (synchronously), else from the store, else a new one.
   */
  acquire(id: string, traceId?: string): Session | Promise<Session> {
    return this.#take(id, this.#cache.get(id), traceId, Date.now());
  }

  /**
   * {@link acquire} for a session just found by {@link touch} in the same
   * tick of the event loop: the same checks and counts, one lookup less.
   * `now` is the wall-clock time, when the caller has it.
   */
  acquireHeld(session: Session, traceId?: string, now = Date.now()): Session | Promise<Session> {
    return this.#take(session.id, session, traceId, now);
  }

  #take(
    id: string,
    session: Session | undefined,
    traceId: string | undefined,
    now: number,
  ): Session | Promise<Session> {
    if (session !== undefined) {
      if (now - session.updatedAt < this.#options.ttlMs) {
        this.#hits++;
        session.updatedAt = now;

        return session;
      }

      this.#expire(session);
    }

    this.#misses++;

    return this.#load(id, now, traceId);
  }

  async #load(id: string, now: number, traceId: string | undefined): Promise<Session> {
    let stored: Session | undefined;

    try {
      stored = await this.#options.store.get(id);
    } catch (error) {
      this.#onStoreError(error, id);
    }

    // A concurrent caller may have filled the slot while the store answered.
    const raced = this.#cache.get(id);

    if (raced !== undefined) return raced;

    if (stored !== undefined && now - stored.updatedAt < this.#options.ttlMs) {
      stored.updatedAt = now;
      this.#cache.set(id, stored);

      return stored;
    }

    const session = new PooledSession(id, now);

    this.#cache.set(id, session);
    this.#onStart(id, traceId);

    return session;
  }

  /** The session as held, without renewing its idle timer or reading the store. */
  peek(id: string): Session | undefined {
    return this.#cache.peek(id);
  }

  /**
   * The session as held, marked most recently used, without renewing its
   * idle timer or counting a hit: {@link acquireHeld} does that when the
   * turn starts.
   */
  touch(id: string): Session | undefined {
    return this.#cache.get(id);
  }

  /** The session from the pool or the store, without renewing its idle timer. */
  async read(id: string): Promise<Session | undefined> {
    const held = this.#cache.peek(id);

    if (held !== undefined) return held;

    try {
      return await this.#options.store.get(id);
    } catch (error) {
      this.#onStoreError(error, id);

      return undefined;
    }
  }

  /** Appends to a session's history, dropping the oldest entries past the bound. */
  appendHistory(session: Session, entry: HistoryEntry): void {
    const max = this.#options.historyMax;

    if (max === 0) return;

    if (session instanceof PooledSession) {
      session.append(max, entry, entry.text, entry.at, undefined, undefined);

      return;
    }

    const history = session.history;

    history.push(entry);

    if (history.length > max) history.shift();
  }

  /**
   * Appends a turn's two entries (the visitor's text, then the answer) at
   * `at`, as {@link appendHistory} would, without making an object for
   * either while the session's history has not been read. `traceSeq` is the
   * number an engine-made `traceId` came from, 0 for a given one.
   */
  appendTurn(
    session: Session,
    text: string,
    answer: string,
    at: number,
    intent: string,
    traceId: string,
    traceSeq = 0,
  ): void {
    const max = this.#options.historyMax;

    if (max === 0) return;

    if (session instanceof PooledSession) {
      session.append(max, 'visitor', text, at, undefined, traceId, traceSeq);
      session.append(max, 'bot', answer, at, intent, traceId, traceSeq);

      return;
    }

    this.appendHistory(session, { from: 'visitor', text, at, traceId });
    this.appendHistory(session, { from: 'bot', text: answer, at, intent, traceId });
  }

  /**
   * Writes a session through to the store; store failures are reported, not
   * thrown. The default in-memory store is written on eviction instead (see
   * the constructor), so for it there is nothing to write or await here.
   */
  save(session: Session): Promise<void> | undefined {
    if (this.#isMemoryStore) return undefined;

    let pending: Promise<void>;

    try {
      // Stores get plain data: a pooled session keeps its history in a form
      // only its own accessors read (see PooledSession).
      const data = session instanceof PooledSession ? session.toJSON() : session;

      pending = this.#options.store.set(session.id, data, this.#options.ttlMs);
    } catch (error) {
      this.#onStoreError(error, session.id);

      return undefined;
    }

    return pending.catch((error: unknown) => this.#onStoreError(error, session.id));
  }

  /**
   * Ends every session idle for the TTL or longer. The LRU list runs from
   * least to most recently used, so the walk stops at the first live one.
   *
   * @returns how many sessions expired.
   */
  sweep(now = Date.now()): number {
    const ttl = this.#options.ttlMs;
    let expired = 0;

    for (let item = this.#cache.first; item !== null; item = this.#cache.first) {
      if (now - item.value.updatedAt < ttl) break;

      this.#expire(item.value);
      expired++;
    }

    return expired;
  }

  #expire(session: Session): void {
    this.#cache.delete(session.id);
    this.#expirations++;
    this.#options.store
      .delete(session.id)
      .catch((error: unknown) => this.#onStoreError(error, session.id));
    this.#onEnd(session.id, 'expired', session);
  }

  stats(): SessionPoolStats {
    const lookups = this.#hits + this.#misses;

    return {
      size: this.#cache.size,
      hits: this.#hits,
      misses: this.#misses,
      hitRate: lookups === 0 ? 0 : this.#hits / lookups,
      evictions: this.#evictions,
      expirations: this.#expirations,
    };
  }

  /** Stops the sweeper and ends every held session with reason `closed`. */
  async close(): Promise<void> {
    if (this.#closed) return;

    this.#closed = true;
    clearInterval(this.#sweeper);

    const ids = this.#cache.keys() as string[];

    this.#cache.clear();

    for (const id of ids) this.#onEnd(id, 'closed');

    await this.#options.store.close?.();
  }
}
