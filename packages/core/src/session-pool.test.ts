import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { SessionPool, type SessionEndReason } from './session-pool.js';
import { MemorySessionStore } from './session-store.js';
import type { Session, SessionStore } from './types.js';

interface Ended {
  sessionId: string;
  reason: SessionEndReason;
}

function makePool(
  overrides: { max?: number; ttlMs?: number; historyMax?: number; store?: SessionStore } = {},
) {
  const ended: Ended[] = [];
  const started: string[] = [];
  const storeErrors: unknown[] = [];
  const store = overrides.store ?? new MemorySessionStore({ ttlMs: overrides.ttlMs ?? 1_000 });
  const pool = new SessionPool({
    max: overrides.max ?? 100,
    ttlMs: overrides.ttlMs ?? 1_000,
    historyMax: overrides.historyMax ?? 3,
    sweepIntervalMs: 100,
    store,
    onStart: (id) => started.push(id),
    onEnd: (sessionId, reason) => ended.push({ sessionId, reason }),
    onStoreError: (error) => storeErrors.push(error),
  });

  return { pool, ended, started, store, storeErrors };
}

async function acquire(pool: SessionPool, id: string): Promise<Session> {
  return await pool.acquire(id);
}

describe('SessionPool', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  describe('acquire()', () => {
    it('creates a session once and then serves it from memory', async () => {
      const { pool, started } = makePool();
      const first = await acquire(pool, 'a');
      const second = pool.acquire('a');

      expect(second).toBe(first);
      expect(started).toEqual(['a']);
      expect(pool.stats()).toMatchObject({ size: 1, hits: 1, misses: 1, hitRate: 0.5 });
      await pool.close();
    });

    it('brings an evicted session back from the store without a new start', async () => {
      const { pool, started, ended } = makePool({ max: 1 });
      const a = await acquire(pool, 'a');

      a.slots.name = 'Li';
      await pool.save(a);
      await acquire(pool, 'b');

      const again = await acquire(pool, 'a');

      expect(again.slots.name).toBe('Li');
      expect(started).toEqual(['a', 'b']);
      expect(ended).toEqual([
        { sessionId: 'a', reason: 'evicted' },
        { sessionId: 'b', reason: 'evicted' },
      ]);
      await pool.close();
    });

    it('reports a failing store and still creates the session', async () => {
      const store: SessionStore = {
        get: () => Promise.reject(new Error('down')),
        set: () => Promise.reject(new Error('down')),
        delete: () => Promise.resolve(),
      };
      const { pool, storeErrors } = makePool({ store });
      const session = await acquire(pool, 'a');

      await pool.save(session);
      expect(session.id).toBe('a');
      expect(storeErrors).toHaveLength(2);
      await pool.close();
    });
  });

  describe('idle TTL', () => {
    it('ends an idle session with reason expired when the sweeper runs', async () => {
      const { pool, ended } = makePool({ ttlMs: 1_000 });

      await acquire(pool, 'a');
      vi.advanceTimersByTime(500);
      await acquire(pool, 'b');
      vi.advanceTimersByTime(600);

      expect(ended).toEqual([{ sessionId: 'a', reason: 'expired' }]);
      expect(pool.stats()).toMatchObject({ size: 1, expirations: 1 });
      await pool.close();
    });

    it('renews the idle timer on every turn', async () => {
      const { pool, ended } = makePool({ ttlMs: 1_000 });

      await acquire(pool, 'a');

      for (let i = 0; i < 5; i++) {
        vi.advanceTimersByTime(800);
        await acquire(pool, 'a');
      }

      expect(ended).toEqual([]);
      vi.advanceTimersByTime(1_100);
      expect(ended).toEqual([{ sessionId: 'a', reason: 'expired' }]);
      await pool.close();
    });

    it('starts a fresh session after expiry', async () => {
      const { pool, started } = makePool({ ttlMs: 1_000 });
      const first = await acquire(pool, 'a');

      first.slots.x = 1;
      await pool.save(first);
      vi.advanceTimersByTime(1_500);

      const second = await acquire(pool, 'a');

      expect(second).not.toBe(first);
      expect(second.slots).toEqual({});
      expect(started).toEqual(['a', 'a']);
      await pool.close();
    });
  });

  describe('LRU', () => {
    it('evicts the least recently used session when full', async () => {
      const { pool, ended } = makePool({ max: 2 });

      await acquire(pool, 'a');
      await acquire(pool, 'b');
      await acquire(pool, 'a');
      await acquire(pool, 'c');

      expect(ended).toEqual([{ sessionId: 'b', reason: 'evicted' }]);
      expect(pool.stats()).toMatchObject({ size: 2, evictions: 1 });
      await pool.close();
    });
  });

  describe('peek() and read()', () => {
    it('reads a session without renewing its idle timer', async () => {
      const { pool, ended } = makePool({ ttlMs: 1_000 });

      await acquire(pool, 'a');
      vi.advanceTimersByTime(900);
      expect(pool.peek('a')?.id).toBe('a');
      expect((await pool.read('a'))?.id).toBe('a');
      vi.advanceTimersByTime(200);
      expect(ended).toEqual([{ sessionId: 'a', reason: 'expired' }]);
      await pool.close();
    });
  });

  describe('appendHistory()', () => {
    it('keeps only the newest entries', async () => {
      const { pool } = makePool({ historyMax: 3 });
      const session = await acquire(pool, 'a');

      for (let i = 0; i < 5; i++)
        pool.appendHistory(session, { from: 'visitor', text: `m${i}`, at: i });

      expect(session.history.map((h) => h.text)).toEqual(['m2', 'm3', 'm4']);
      await pool.close();
    });
  });

  describe('close()', () => {
    it('ends every session with reason closed', async () => {
      const { pool, ended } = makePool();

      await acquire(pool, 'a');
      await acquire(pool, 'b');
      await pool.close();

      expect(ended).toEqual([
        { sessionId: 'a', reason: 'closed' },
        { sessionId: 'b', reason: 'closed' },
      ]);
    });
  });
});
