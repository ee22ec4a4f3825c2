import { lru, type LRU } from 'tiny-lru';

import type { Session, SessionStore } from './types.js';

/** Options of {@link MemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /** Most sessions kept; the least recently written go first. @defaultValue 1,000,000 */
  max?: number;
  /** Idle time after which a session is forgotten. @defaultValue 30 minutes */
  ttlMs?: number;
  /** How often expired sessions are swept out. @defaultValue 60 s */
  sweepIntervalMs?: number;
}

/**
 * The default {@link SessionStore}: sessions in this process's memory, behind
 * the engine's pool. It keeps the same objects the pool holds (no copies), so
 * a session evicted from the pool comes back from here on its next turn.
 *
 * Known limit: one TTL for the whole store (the `ttlMs` of `set()` is
 * ignored), and a restart forgets every conversation. Hosts that scale out or
 * must survive restarts pass a shared store instead.
 */
export class MemorySessionStore implements SessionStore {
  readonly #cache: LRU<Session>;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemorySessionStoreOptions = {}) {
    this.#cache = lru<Session>(options.max ?? 1_000_000, options.ttlMs ?? 30 * 60_000, true);
    // tiny-lru expires lazily: without a sweep, idle sessions would stay in
    // memory until their key is read again.
    this.#sweeper = setInterval(() => this.#cache.cleanup(), options.sweepIntervalMs ?? 60_000);
    this.#sweeper.unref();
  }

  /** Number of sessions held, expired ones not yet swept included. */
  get size(): number {
    return this.#cache.size;
  }

  get(id: string): Promise<Session | undefined> {
    return Promise.resolve(this.#cache.get(id));
  }

  set(id: string, session: Session): Promise<void> {
    this.#cache.set(id, session);

    return Promise.resolve();
  }

  delete(id: string): Promise<void> {
    this.#cache.delete(id);

    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#cache.clear();

    return Promise.resolve();
  }
}
