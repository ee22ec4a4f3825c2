import { performance } from 'node:perf_hooks';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  createEngine,
  isKefuError,
  type Engine,
  type EngineOptions,
  type Logger,
} from '../src/index.js';
import { TableNlu, tableRules } from './doubles.js';
import {
  collect,
  makePluginDir,
  nextEvent,
  pluginSource,
  scratch,
  type PluginDir,
} from './helpers.js';

let plugins: PluginDir;
const engines: Engine[] = [];

beforeAll(async () => {
  plugins = await makePluginDir();
  await plugins.write(
    'orders.mjs',
    pluginSource({
      name: 'orders',
      version: '2.1.0',
      intents: [
        { name: 'track_order', examples: ['where is my order'] },
        { name: 'cancel_order', examples: ['cancel my order'], threshold: 0.9 },
      ],
      handle: `
        if (turn.text.startsWith('slot')) return { text: 'noted', slots: { order: turn.slots.order ?? '42', drop: null } };
        return { text: 'order ' + turn.intent + ' ' + (turn.slots.order ?? '-'), quickReplies: ['Yes', 'No'] };`,
      detect: `
        const m = /#(\\d+)/.exec(text);
        if (m) return { intent: 'track_order', score: 0.95, slots: { order: m[1] } };
        return text.startsWith('num') ? 0.7 : undefined;`,
    }),
  );
  await plugins.write(
    'greet.js',
    pluginSource({ name: 'greet', intents: [{ name: 'greet', examples: ['hello'] }] }),
  );
  await plugins.write(
    'faulty.js',
    pluginSource({
      name: 'faulty',
      intents: [{ name: 'throws' }, { name: 'rejects' }, { name: 'hangs' }, { name: 'no_text' }],
      handle: `
        if (turn.intent === 'throws') throw new Error('handler bug');
        if (turn.intent === 'rejects') return Promise.reject(new Error('async bug'));
        if (turn.intent === 'no_text') return { quickReplies: [] };
        globalThis.kefuHangs = turn.signal;
        return new Promise(() => {});`,
    }),
  );
});

afterAll(async () => {
  await plugins.cleanup();
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});

const rules = tableRules({
  hello: [{ intent: 'greet', score: 0.9 }],
  where: [{ intent: 'track_order', score: 0.8 }],
  cancel: [{ intent: 'cancel_order', score: 0.8 }],
  weak: [{ intent: 'greet', score: 0.3 }],
  tie: [
    { intent: 'greet', score: 0.8 },
    { intent: 'track_order', score: 0.78 },
  ],
  hours: [{ intent: 'opening_hours', score: 0.9, reply: 'We open at 9.' }],
  unknown: [{ intent: 'not_a_plugin', score: 0.9 }],
  slot: [{ intent: 'track_order', score: 0.9 }],
  throws: [{ intent: 'throws', score: 0.9 }],
  rejects: [{ intent: 'rejects', score: 0.9 }],
  hangs: [{ intent: 'hangs', score: 0.9 }],
  no_text: [{ intent: 'no_text', score: 0.9 }],
});

async function engineWith(options: EngineOptions = {}): Promise<Engine> {
  const engine = await createEngine({ plugins: { dir: plugins.dir }, rules, ...options });

  engines.push(engine);

  return engine;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isKefuError(error)) return error.code;
    throw error;
  }

  throw new Error('expected a rejection');
}

describe('engine.handle()', () => {
  it('answers with the plugin of the winning intent', async () => {
    const engine = await engineWith();
    const reply = await engine.handle({ sessionId: 's1', text: 'where is it', traceId: 'trace-1' });

    expect(reply).toMatchObject({
      sessionId: 's1',
      traceId: 'trace-1',
      intent: 'track_order',
      score: 0.8,
      source: 'rules',
      plugin: { name: 'orders', version: '2.1.0' },
      text: 'order track_order -',
      actions: [{ type: 'quickReplies', options: ['Yes', 'No'] }],
    });
    expect(reply.reason).toBeUndefined();
    expect(reply.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('makes a trace id and carries it on every event of the turn', async () => {
    const engine = await engineWith();
    const seen: string[] = [];

    engine.on('message.in', (e) => seen.push(e.traceId));
    engine.on('intent.detected', (e) => seen.push(e.traceId));
    engine.on('reply.out', (e) => seen.push(e.traceId));

    const reply = await engine.handle({ sessionId: 's1', text: 'hello' });

    expect(reply.traceId).toMatch(/\S+/);
    expect(seen).toEqual([reply.traceId, reply.traceId, reply.traceId]);
  });

  it('answers out of scope when nothing matches, in Chinese for a Chinese text', async () => {
    const engine = await engineWith({ outOfScopeReply: { en: 'Sorry?', zh: '抱歉？' } });
    const en = await engine.handle({ sessionId: 's1', text: 'blah' });
    const zh = await engine.handle({ sessionId: 's1', text: '今天天气怎么样' });

    expect(en).toMatchObject({
      intent: 'oos',
      source: 'fallback',
      plugin: null,
      reason: 'out_of_scope',
      text: 'Sorry?',
    });
    expect(zh).toMatchObject({ reason: 'out_of_scope', text: '抱歉？' });
  });

  it('says below_threshold when the best score is under the threshold', async () => {
    const engine = await engineWith();
    const detected = nextEvent(engine, 'intent.detected');
    const reply = await engine.handle({ sessionId: 's1', text: 'weak hello' });

    expect(reply).toMatchObject({
      intent: 'oos',
      reason: 'below_threshold',
      candidates: [{ intent: 'greet', score: 0.3 }],
    });
    expect(await detected).toMatchObject({
      reason: 'below_threshold',
      intent: 'oos',
      plugin: null,
    });
  });

  it('applies a per-intent threshold over the global one', async () => {
    const engine = await engineWith();
    const reply = await engine.handle({ sessionId: 's1', text: 'cancel it' });

    expect(reply).toMatchObject({
      reason: 'below_threshold',
      candidates: [{ intent: 'cancel_order', score: 0.8 }],
    });
  });

  it('says ambiguous when the runner-up is within the margin', async () => {
    const engine = await engineWith({ ambiguityMargin: 0.05 });
    const reply = await engine.handle({ sessionId: 's1', text: 'tie' });

    expect(reply).toMatchObject({ intent: 'oos', reason: 'ambiguous' });
  });

  it('answers with the reply a rule carries when no plugin owns its intent', async () => {
    const engine = await engineWith();
    const reply = await engine.handle({ sessionId: 's1', text: 'hours please' });

    expect(reply).toMatchObject({
      intent: 'opening_hours',
      source: 'rules',
      plugin: null,
      text: 'We open at 9.',
    });
  });

  it('ignores an intent that neither a plugin nor a rule reply answers', async () => {
    const engine = await engineWith();

    expect(await engine.handle({ sessionId: 's1', text: 'unknown' })).toMatchObject({
      reason: 'out_of_scope',
    });
  });

  it('lets detect() score the first intent with a number', async () => {
    const engine = await engineWith();
    const reply = await engine.handle({ sessionId: 's1', text: 'num please' });

    expect(reply).toMatchObject({
      intent: 'track_order',
      score: 0.7,
      source: 'plugin',
      plugin: { name: 'orders' },
    });
  });

  it('hands the slots found by detect() to handle()', async () => {
    const engine = await engineWith();
    const reply = await engine.handle({ sessionId: 's1', text: 'hello, order #314?' });

    expect(reply).toMatchObject({
      intent: 'track_order',
      score: 0.95,
      source: 'plugin',
      text: 'order track_order 314',
    });
  });

  it('follows the NLU, treating its oos as out of scope', async () => {
    const nlu = new TableNlu({
      hello: [{ intent: 'greet', score: 0.99 }],
      chat: [{ intent: 'oos', score: 0.9 }],
    });
    const engine = await engineWith({ nlu: { provider: nlu } });

    await engine.ready();
    expect(await engine.handle({ sessionId: 's1', text: 'hello' })).toMatchObject({
      intent: 'greet',
      source: 'nlu',
    });
    expect(await engine.handle({ sessionId: 's1', text: 'chat' })).toMatchObject({
      intent: 'oos',
      reason: 'out_of_scope',
    });
  });

  it('answers from the rules and says nlu_fallback when the NLU fails', async () => {
    const nlu = new TableNlu({});
    const engine = await engineWith({ nlu: { provider: nlu } });

    await engine.ready();

    const fallback = nextEvent(engine, 'nlu.fallback');
    const ruled = await engine.handle({ sessionId: 's1', text: 'hello' });

    expect(ruled).toMatchObject({ intent: 'greet', source: 'rules' });
    expect(await fallback).toMatchObject({ reason: 'error', traceId: ruled.traceId });
    expect(await engine.handle({ sessionId: 's1', text: 'blah' })).toMatchObject({
      reason: 'nlu_fallback',
    });
    expect(engine.stats().fallbacks.error).toBe(2);
  });

  it('answers out of scope with an error event when the rules answer with garbage', async () => {
    const engine = await engineWith({ rules: { match: () => [null] as never } });
    const error = nextEvent(engine, 'error');
    const reply = await engine.handle({ sessionId: 's1', text: 'hello' });

    expect(reply).toMatchObject({ intent: 'oos', reason: 'out_of_scope', plugin: null });
    expect((await error).traceId).toBe(reply.traceId);
    expect(await engine.getSession('s1')).toMatchObject({ turns: 0 });
  });

  it('falls back to the rules when the NLU answers without a list', async () => {
    const nlu = new TableNlu({ hello: 'nonsense' as never });
    const engine = await engineWith({ nlu: { provider: nlu } });

    await engine.ready();

    const fallback = nextEvent(engine, 'nlu.fallback');

    expect(await engine.handle({ sessionId: 's1', text: 'hello' })).toMatchObject({
      intent: 'greet',
      source: 'rules',
    });
    expect(isKefuError((await fallback).error, 'CORE_NLP_FAILED')).toBe(true);
  });

  it('answers from the rules within the NLU timeout plus 50 ms when the NLU is slow', async () => {
    const nlu = new TableNlu({});

    nlu.classify = () => new Promise((done) => setTimeout(() => done([]), 2_000).unref());

    const engine = await engineWith({ nlu: { provider: nlu, timeoutMs: 100 } });

    await engine.ready();

    const fallback = nextEvent(engine, 'nlu.fallback');
    const started = performance.now();
    const reply = await engine.handle({ sessionId: 's1', text: 'hello' });

    expect(performance.now() - started).toBeLessThan(150);
    expect(reply).toMatchObject({ intent: 'greet', source: 'rules' });
    expect(await fallback).toMatchObject({ reason: 'timeout' });
    expect(isKefuError((await fallback).error, 'CORE_NLP_TIMEOUT')).toBe(true);
  });

  it('emits breaker.open, breaker.halfOpen and breaker.close as the NLU fails and recovers', async () => {
    const nlu = new TableNlu({});
    const engine = await engineWith({
      nlu: { provider: nlu, breaker: { volumeThreshold: 2, resetTimeoutMs: 50 } },
    });
    const opened = nextEvent(engine, 'breaker.open');
    const halfOpened = nextEvent(engine, 'breaker.halfOpen');
    const closed = nextEvent(engine, 'breaker.close');

    await engine.ready();
    await engine.handle({ sessionId: 's1', text: 'hello' });
    await engine.handle({ sessionId: 's1', text: 'hello' });
    expect(await opened).toEqual({ state: 'open' });

    const fallback = nextEvent(engine, 'nlu.fallback');

    await engine.handle({ sessionId: 's1', text: 'hello' });
    expect(await fallback).toMatchObject({ reason: 'circuit_open' });
    expect(engine.stats().breaker).toEqual({ state: 'open', opens: 1 });

    expect(await halfOpened).toEqual({ state: 'halfOpen' });
    nlu.table = { hello: [{ intent: 'greet', score: 0.97 }] };
    expect(await engine.handle({ sessionId: 's1', text: 'hello' })).toMatchObject({
      source: 'nlu',
      score: 0.97,
    });
    expect(await closed).toEqual({ state: 'closed' });
  });

  it('skips a detect() that throws, reports it, and still decides on the others', async () => {
    const dir = await makePluginDir();

    try {
      await dir.write(
        'broken-detect.js',
        pluginSource({
          name: 'broken',
          intents: [{ name: 'broken' }],
          detect: `throw new Error('bad detector');`,
        }),
      );
      await dir.write(
        'async-detect.js',
        pluginSource({
          name: 'sizes',
          intents: [{ name: 'size' }],
          detect: `return Promise.resolve(text.includes('XL') ? { score: 0.8, slots: { size: 'XL' } } : null);`,
          handle: `return 'size ' + turn.slots.size;`,
        }),
      );

      const engine = await engineWith({ plugins: { dir: dir.dir }, rules: { match: () => [] } });
      const error = nextEvent(engine, 'error');
      const reply = await engine.handle({ sessionId: 's1', text: 'an XL shirt' });

      expect(reply).toMatchObject({ intent: 'size', source: 'plugin', text: 'size XL' });
      expect(await error).toMatchObject({ plugin: 'broken' });
      expect(isKefuError((await error).error, 'CORE_PLUGIN_FAILED')).toBe(true);
    } finally {
      await dir.cleanup();
    }
  });

  describe('a failing plugin', () => {
    it.each([
      ['throws', 'CORE_PLUGIN_FAILED'],
      ['rejects', 'CORE_PLUGIN_FAILED'],
      ['no_text', 'CORE_PLUGIN_FAILED'],
    ])('gets the out-of-scope reply and an error event when it %s', async (text, code) => {
      const engine = await engineWith();
      const error = nextEvent(engine, 'error');
      const reply = await engine.handle({ sessionId: 's1', text });
      const event = await error;

      expect(reply).toMatchObject({ intent: 'oos', reason: 'plugin_failed', plugin: null });
      expect(event).toMatchObject({ plugin: 'faulty', traceId: reply.traceId, sessionId: 's1' });
      expect(isKefuError(event.error, code as 'CORE_PLUGIN_FAILED')).toBe(true);
    });

    it('is cut off after its time budget, with its signal aborted', async () => {
      const engine = await engineWith({ handlerTimeoutMs: 50 });
      const error = nextEvent(engine, 'error');
      const reply = await engine.handle({ sessionId: 's1', text: 'hangs' });

      expect(reply).toMatchObject({ reason: 'plugin_failed' });
      expect(isKefuError((await error).error, 'CORE_PLUGIN_TIMEOUT')).toBe(true);
      expect((globalThis as unknown as { kefuHangs: AbortSignal }).kefuHangs.aborted).toBe(true);
    });
  });

  describe('the session', () => {
    it('records history, slots and the last intent after a turn', async () => {
      const engine = await engineWith();

      await engine.handle({ sessionId: 's1', text: 'slot it' });

      const session = await engine.getSession('s1');

      expect(session).toMatchObject({
        id: 's1',
        turns: 1,
        lastIntent: 'track_order',
        slots: { order: '42' },
      });
      expect(session?.history.map((h) => [h.from, h.text])).toEqual([
        ['visitor', 'slot it'],
        ['bot', 'noted'],
      ]);
    });

    it('emits session.start once per new session', async () => {
      const engine = await engineWith();
      const started = collect(engine, 'session.start');

      await engine.handle({ sessionId: 'a', text: 'hello' });
      await engine.handle({ sessionId: 'a', text: 'hello' });
      await engine.handle({ sessionId: 'b', text: 'hello', traceId: 't-b' });

      expect(started).toEqual([
        expect.objectContaining({ sessionId: 'a' }),
        { sessionId: 'b', traceId: 't-b' },
      ]);
    });

    it('emits session.end with reason evicted when the pool is full', async () => {
      const engine = await engineWith({ sessions: { max: 1 } });
      const ended = nextEvent(engine, 'session.end');

      await engine.handle({ sessionId: 'a', text: 'hello' });
      await engine.handle({ sessionId: 'b', text: 'hello' });

      expect(await ended).toEqual({ sessionId: 'a', reason: 'evicted' });
      expect(engine.stats().sessions).toMatchObject({ size: 1, evictions: 1 });
    });

    it('emits session.end with reason expired after the idle TTL', async () => {
      const engine = await engineWith({ sessions: { ttlMs: 30, sweepIntervalMs: 10 } });
      const ended = nextEvent(engine, 'session.end');

      await engine.handle({ sessionId: 'idle', text: 'hello' });

      expect(await ended).toEqual({ sessionId: 'idle', reason: 'expired' });
      expect(engine.stats().sessions).toMatchObject({ size: 0, expirations: 1 });
    });

    it('ends every session with reason closed on close()', async () => {
      const engine = await engineWith();
      const ended = collect(engine, 'session.end');

      await engine.handle({ sessionId: 'a', text: 'hello' });
      await engine.close();
      expect(ended).toEqual([{ sessionId: 'a', reason: 'closed' }]);
    });

    it('appends messages recorded outside handle() in turn order', async () => {
      const engine = await engineWith();
      const first = engine.handle({ sessionId: 's1', text: 'hello' });
      const note = engine.recordMessage('s1', {
        from: 'agent',
        text: 'Agent here',
        at: Date.now(),
      });

      await Promise.all([first, note]);

      const session = await engine.getSession('s1');

      expect(session?.history.map((h) => h.from)).toEqual(['visitor', 'bot', 'agent']);
      expect(await engine.getSession('nobody')).toBeUndefined();
    });

    it('reports a failing store with CORE_SESSION_STORE_FAILED and keeps answering', async () => {
      const store = {
        get: () => Promise.reject(new Error('down')),
        set: () => Promise.reject(new Error('down')),
        delete: () => Promise.resolve(),
      };
      const engine = await engineWith({ sessions: { store } });
      const error = nextEvent(engine, 'error');
      const reply = await engine.handle({ sessionId: 's1', text: 'hello' });

      expect(reply.intent).toBe('greet');
      expect(isKefuError((await error).error, 'CORE_SESSION_STORE_FAILED')).toBe(true);
    });
  });

  describe('bad input', () => {
    const long = 'x'.repeat(4_001);

    it.each([
      ['a missing session id', { text: 'hello' }, 'CORE_SESSION_ID_INVALID'],
      ['a numeric session id', { sessionId: 7, text: 'hello' }, 'CORE_SESSION_ID_INVALID'],
      ['an empty session id', { sessionId: '', text: 'hello' }, 'CORE_SESSION_ID_INVALID'],
      ['a missing text', { sessionId: 's1' }, 'CORE_TEXT_INVALID'],
      ['a numeric text', { sessionId: 's1', text: 42 }, 'CORE_TEXT_INVALID'],
      ['an empty text', { sessionId: 's1', text: '' }, 'CORE_TEXT_EMPTY'],
      ['a whitespace-only text', { sessionId: 's1', text: ' \n\t\u3000 ' }, 'CORE_TEXT_EMPTY'],
      ['a text over the maximum', { sessionId: 's1', text: long }, 'CORE_TEXT_TOO_LONG'],
      ['a lone surrogate', { sessionId: 's1', text: 'hi \ud83d there' }, 'CORE_TEXT_MALFORMED'],
      ['a non-object turn', null, 'CORE_INPUT_INVALID'],
      ['an empty trace id', { sessionId: 's1', text: 'hello', traceId: '' }, 'CORE_INPUT_INVALID'],
    ])('refuses %s and leaves the session alone', async (_label, input, code) => {
      const engine = await engineWith();

      await engine.handle({ sessionId: 's1', text: 'hello' });

      const before = JSON.stringify(await engine.getSession('s1'));

      expect(await codeOf(engine.handle(input as never))).toBe(code);
      expect(JSON.stringify(await engine.getSession('s1'))).toBe(before);
    });

    it('takes a configured maximum text length', async () => {
      const engine = await engineWith({ maxTextLength: 10 });

      expect(await codeOf(engine.handle({ sessionId: 's1', text: 'hello world!' }))).toBe(
        'CORE_TEXT_TOO_LONG',
      );
    });

    it('refuses a malformed history entry with CORE_INPUT_INVALID', async () => {
      const engine = await engineWith();

      expect(
        await codeOf(engine.recordMessage('s1', { from: 'robot', text: 'x', at: 0 } as never)),
      ).toBe('CORE_INPUT_INVALID');
      expect(await codeOf(engine.recordMessage('s1', { from: 'agent', at: 0 } as never))).toBe(
        'CORE_TEXT_INVALID',
      );
      expect(await codeOf(engine.recordMessage('', { from: 'agent', text: 'x', at: 0 }))).toBe(
        'CORE_SESSION_ID_INVALID',
      );
      expect(await engine.getSession('s1')).toBeUndefined();
    });

    it('refuses turns once the engine is closed', async () => {
      const engine = await engineWith();

      await engine.close();
      expect(await codeOf(engine.handle({ sessionId: 's1', text: 'hello' }))).toBe(
        'CORE_ENGINE_CLOSED',
      );
      expect(await codeOf(engine.recordMessage('s1', { from: 'agent', text: 'x', at: 0 }))).toBe(
        'CORE_ENGINE_CLOSED',
      );
      expect(await codeOf(engine.plugins.load(`${plugins.dir}/greet.js`))).toBe(
        'CORE_ENGINE_CLOSED',
      );
      expect(await codeOf(engine.plugins.unload('greet'))).toBe('CORE_ENGINE_CLOSED');
    });
  });

  describe('ordering', () => {
    it('handles 1,000 concurrent turns of one session in arrival order', async () => {
      const dir = await makePluginDir();

      try {
        await dir.write(
          'echo.js',
          pluginSource({
            name: 'echo',
            intents: [{ name: 'echo' }],
            handle: `
              const log = (globalThis.kefuOrder ??= []);
              if (Math.random() < 0.5) await new Promise((r) => setImmediate(r));
              log.push(turn.text);
              return turn.text;`,
          }),
        );

        const engine = await engineWith({
          plugins: { dir: dir.dir },
          rules: { match: () => [{ intent: 'echo', score: 1 }] },
        });
        const texts = Array.from({ length: 1_000 }, (_, i) => `m${i}`);
        const replies = await Promise.all(
          texts.map((text) => engine.handle({ sessionId: 'one', text })),
        );

        expect(replies.map((r) => r.text)).toEqual(texts);
        expect(scratch<never>('kefuOrder')).toEqual(texts);
        expect((await engine.getSession('one'))?.turns).toBe(1_000);
      } finally {
        await dir.cleanup();
      }
    });

    it('keeps the order of turns that arrive while a warm session answers', async () => {
      const dir = await makePluginDir();

      try {
        await dir.write(
          'late.js',
          pluginSource({
            name: 'late',
            intents: [{ name: 'late' }],
            handle: `
              const log = (globalThis.kefuLate ??= []);
              if (turn.text !== 'm2') await new Promise((r) => setTimeout(r, 5));
              log.push(turn.text);
              return turn.text;`,
          }),
        );

        const engine = await engineWith({
          plugins: { dir: dir.dir },
          rules: { match: () => [{ intent: 'late', score: 1 }] },
        });

        await engine.handle({ sessionId: 'warm', text: 'm0' });

        const texts = ['m1', 'm2', 'm3', 'm4'];
        const replies = await Promise.all(
          texts.map((text) => engine.handle({ sessionId: 'warm', text })),
        );

        expect(replies.map((r) => r.text)).toEqual(texts);
        expect(scratch<never>('kefuLate')).toEqual(['m0', ...texts]);

        // The session is idle again: a later turn starts at once.
        expect((await engine.handle({ sessionId: 'warm', text: 'm2' })).text).toBe('m2');
      } finally {
        await dir.cleanup();
      }
    });

    it('keeps a session in order when it leaves the pool mid-turn', async () => {
      const dir = await makePluginDir();

      try {
        // "first" holds session "a" until the test opens the gate; a turn of
        // "b" evicts "a" from a pool of one meanwhile.
        await dir.write(
          'hold.js',
          pluginSource({
            name: 'hold',
            intents: [{ name: 'hold' }],
            handle: `
              const gate = globalThis.kefuHold;
              if (turn.text === 'first') {
                gate.entered();
                await gate.promise;
              }
              gate.log.push(turn.sessionId + ':' + turn.text);
              return turn.text;`,
          }),
        );

        const gate: Record<string, unknown> = { log: [] };
        const entered = new Promise<void>((done) => (gate.entered = done));

        gate.promise = new Promise<void>((done) => (gate.open = done));
        (globalThis as Record<string, unknown>).kefuHold = gate;

        const engine = await engineWith({
          plugins: { dir: dir.dir },
          rules: { match: () => [{ intent: 'hold', score: 1 }] },
          sessions: { max: 1 },
        });
        const ended = collect(engine, 'session.end');

        await engine.handle({ sessionId: 'a', text: 'warm' });

        const first = engine.handle({ sessionId: 'a', text: 'first' });

        await entered;
        await engine.handle({ sessionId: 'b', text: 'other' });

        const second = engine.handle({ sessionId: 'a', text: 'second' });

        // Give "second" every chance to overtake before "first" may finish.
        await new Promise((done) => setImmediate(done));
        (gate.open as () => void)();

        expect((await Promise.all([first, second])).map((r) => r.text)).toEqual([
          'first',
          'second',
        ]);
        expect(gate.log).toEqual(['a:warm', 'b:other', 'a:first', 'a:second']);
        expect(ended).toContainEqual({ sessionId: 'a', reason: 'evicted' });
      } finally {
        await dir.cleanup();
      }
    });

    it('runs turns of different sessions concurrently', async () => {
      const dir = await makePluginDir();

      try {
        // Session "a" waits for a turn of session "b": if sessions were
        // served one after another, this would never finish.
        await dir.write(
          'meet.js',
          pluginSource({
            name: 'meet',
            intents: [{ name: 'meet' }],
            handle: `
              const gate = (globalThis.kefuGate ??= {});
              gate.promise ??= new Promise((r) => (gate.open = r));
              if (turn.sessionId === 'b') gate.open();
              await gate.promise;
              return 'met';`,
          }),
        );

        const engine = await engineWith({
          plugins: { dir: dir.dir },
          rules: { match: () => [{ intent: 'meet', score: 1 }] },
        });
        const replies = await Promise.all([
          engine.handle({ sessionId: 'a', text: 'x' }),
          engine.handle({ sessionId: 'b', text: 'x' }),
        ]);

        expect(replies.map((r) => r.text)).toEqual(['met', 'met']);
      } finally {
        await dir.cleanup();
      }
    });
  });
});

describe('engine.close()', () => {
  it('waits for the turns in flight and answers them', async () => {
    const dir = await makePluginDir();

    try {
      await dir.write(
        'slow.js',
        pluginSource({
          name: 'slow',
          intents: [{ name: 'slow' }],
          handle: `await new Promise((r) => setTimeout(r, 30)); return 'done';`,
        }),
      );

      const engine = await engineWith({
        plugins: { dir: dir.dir },
        rules: { match: () => [{ intent: 'slow', score: 1 }] },
      });
      const turns = [
        engine.handle({ sessionId: 'a', text: 'x' }),
        engine.handle({ sessionId: 'a', text: 'y' }),
      ];
      const closed = engine.close();
      const replies = await Promise.all(turns);

      await closed;
      expect(replies.map((r) => r.text)).toEqual(['done', 'done']);
    } finally {
      await dir.cleanup();
    }
  });

  it('closes the provider and the rules', async () => {
    const nlu = new TableNlu({});
    let isRulesClosed = false;
    const engine = await engineWith({
      nlu: { provider: nlu },
      rules: { match: () => [], close: () => Promise.resolve(void (isRulesClosed = true)) },
    });

    await engine.close();
    expect(nlu.isClosed).toBe(true);
    expect(isRulesClosed).toBe(true);
  });
});

describe('training', () => {
  it('is ready at once without an NLU provider', async () => {
    const engine = await engineWith();

    expect(engine.isReady).toBe(true);
    await engine.ready();
    expect(engine.stats().nlu).toEqual({ provider: 'none', trained: false, training: false });
  });

  it('trains on the union of the plugins examples and resolves ready()', async () => {
    const nlu = new TableNlu({ hello: [{ intent: 'greet', score: 0.9 }] });
    const engine = await engineWith({ nlu: { provider: nlu } });
    const trained = nextEvent(engine, 'nlu.trained');

    await engine.ready();

    expect(engine.isReady).toBe(true);
    expect(await trained).toMatchObject({ intents: 7 });
    expect(nlu.trainings[0]?.map((e) => e.intent).sort()).toEqual([
      'cancel_order',
      'greet',
      'hangs',
      'no_text',
      'rejects',
      'throws',
      'track_order',
    ]);
    expect(engine.stats().nlu).toEqual({ provider: 'table', trained: true, training: false });
  });

  it('answers from the rules with reason not_trained until the first training ends', async () => {
    const nlu = new TableNlu({ hello: [{ intent: 'greet', score: 0.99 }] });
    let release = (): void => {};

    nlu.trainGate = new Promise((done) => {
      release = done;
    });

    const engine = await engineWith({ nlu: { provider: nlu } });
    const fallback = nextEvent(engine, 'nlu.fallback');

    expect(await engine.handle({ sessionId: 's1', text: 'hello' })).toMatchObject({
      source: 'rules',
      score: 0.9,
    });
    expect(await fallback).toMatchObject({ reason: 'not_trained' });
    expect(isKefuError((await fallback).error, 'CORE_NLP_NOT_TRAINED')).toBe(true);
    release();
    await engine.ready();
    expect(await engine.handle({ sessionId: 's1', text: 'hello' })).toMatchObject({
      source: 'nlu',
      score: 0.99,
    });
  });

  it('trains again in the background when a plugin is added, and not for a change that keeps the examples', async () => {
    const dir = await makePluginDir();

    try {
      await dir.write('a.js', pluginSource({ name: 'a' }));

      const nlu = new TableNlu({ a: [{ intent: 'a', score: 0.9 }] });
      const engine = await engineWith({
        plugins: { dir: dir.dir },
        nlu: { provider: nlu, retrainDebounceMs: 10 },
      });

      await engine.ready();

      const retrained = nextEvent(engine, 'nlu.trained');

      await engine.plugins.load(await dir.write('b.js', pluginSource({ name: 'b' })));
      expect(await retrained).toMatchObject({ examples: 2, intents: 2 });

      await engine.plugins.load(
        await dir.write('b.js', pluginSource({ name: 'b', version: '1.0.1' })),
      );
      await new Promise((done) => setTimeout(done, 50));
      expect(nlu.trainings).toHaveLength(2);
    } finally {
      await dir.cleanup();
    }
  });
  it('trains first on all the start-up plugins, once, even when a retraining falls due meanwhile', async () => {
    const dir = await makePluginDir();

    try {
      await dir.write('a.js', pluginSource({ name: 'a' }));
      await dir.write('b.js', pluginSource({ name: 'b' }));

      const nlu = new TableNlu({ a: [{ intent: 'a', score: 0.9 }] });
      let started = 0;
      let release = (): void => {};
      const train = nlu.train.bind(nlu);

      nlu.train = (examples) => {
        started++;
        return train(examples);
      };
      nlu.trainGate = new Promise((done) => {
        release = done;
      });

      const engine = await engineWith({
        plugins: { dir: dir.dir },
        nlu: { provider: nlu, retrainDebounceMs: 1 },
      });

      // Give a retraining asked for while the folder loaded (1 ms debounce)
      // time to fall due while the first training is held at the gate.
      await new Promise((done) => setTimeout(done, 30));
      release();
      await engine.ready();

      const retrained = nextEvent(engine, 'nlu.trained');

      await engine.plugins.load(await dir.write('c.js', pluginSource({ name: 'c' })));
      expect(await retrained).toMatchObject({ examples: 3 });
      expect(started).toBe(2);
      expect(nlu.trainings.map((t) => t.length)).toEqual([2, 3]);
    } finally {
      await dir.cleanup();
    }
  });
});

describe('logging', () => {
  it('logs each turn with its trace id, and the text only when logText is on', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger: Logger = {
      debug: (fields: unknown) => void lines.push(fields as Record<string, unknown>),
      info: () => {},
      warn: () => {},
      error: () => {},
      child: () => logger,
    };
    const quiet = await engineWith({ logger });
    const reply = await quiet.handle({ sessionId: 's1', text: 'hello' });

    expect(lines.at(-1)).toMatchObject({
      traceId: reply.traceId,
      sessionId: 's1',
      intent: 'greet',
    });
    expect(lines.at(-1)).not.toHaveProperty('text');

    const chatty = await engineWith({ logger, logText: true });

    await chatty.handle({ sessionId: 's1', text: 'hello' });
    expect(lines.at(-1)).toMatchObject({ text: 'hello' });
  });
});
