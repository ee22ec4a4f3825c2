import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EmbeddingCache } from './embedding-cache.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kefu-embedding-cache-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('EmbeddingCache', () => {
  it('returns what was stored for the exact text only', () => {
    const cache = new EmbeddingCache(10);
    cache.set('hello', Float32Array.of(1, 0));

    expect(cache.get('hello')).toEqual(Float32Array.of(1, 0));
    expect(cache.get('Hello')).toBeUndefined();
  });

  it('forgets the least recently used entry when full', () => {
    const cache = new EmbeddingCache(2);
    cache.set('a', Float32Array.of(1));
    cache.set('b', Float32Array.of(2));
    cache.get('a');
    cache.set('c', Float32Array.of(3));

    expect(cache.get('a')).toBeDefined();
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('refuses a vector of another width than the first one', () => {
    const cache = new EmbeddingCache(10);
    cache.set('a', Float32Array.of(1, 2));
    cache.set('b', Float32Array.of(1, 2, 3));

    expect(cache.get('b')).toBeUndefined();
  });

  it('saves to a file and loads it back', async () => {
    const file = join(dir, 'nested', 'cache.bin');
    const cache = new EmbeddingCache(10);
    cache.set('你好', Float32Array.of(0.25, -0.5, 1));
    cache.set('hi', Float32Array.of(1, 0, 0));
    await cache.save(file);

    const loaded = new EmbeddingCache(10);

    expect(await loaded.load(file)).toBe(2);
    expect(loaded.get('你好')).toEqual(Float32Array.of(0.25, -0.5, 1));
    expect(loaded.isDirty).toBe(false);
  });

  it('treats a missing or damaged file as empty', async () => {
    const damaged = join(dir, 'damaged.bin');
    await writeFile(damaged, 'KEFUEMB1 and then nonsense');

    expect(await new EmbeddingCache(10).load(join(dir, 'absent.bin'))).toBe(0);
    expect(await new EmbeddingCache(10).load(damaged)).toBe(0);
  });
});
