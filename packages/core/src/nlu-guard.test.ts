import { performance } from 'node:perf_hooks';

import { describe, expect, it } from 'vitest';

import { NluGuard, type NluGuardOptions } from './nlu-guard.js';
import type { BreakerState, IntentScore, NluProvider, RuleMatcher, Session } from './types.js';

const session: Session = { id: 's', createdAt: 0, updatedAt: 0, turns: 0, slots: {}, history: [] };

const rules: RuleMatcher = { match: () => [{ intent: 'from_rules', score: 0.8 }] };

function provider(classify: NluProvider['classify']): NluProvider {
  return { name: 'test', train: () => Promise.resolve(), classify };
}

interface Made {
  guard: NluGuard;
  states: BreakerState[];
  /** Resolves when the breaker next reaches `state`. */
  next(state: BreakerState): Promise<void>;
}

function makeGuard(overrides: Partial<NluGuardOptions>, isTrained = true): Made {
  const states: BreakerState[] = [];
  const waiting: { state: BreakerState; done: () => void }[] = [];
  const guard = new NluGuard({
    provider: undefined,
    rules,
    timeoutMs: 1_000,
    errorThresholdPercentage: 50,
    volumeThreshold: 2,
    resetTimeoutMs: 60_000,
    rollingCountTimeoutMs: 10_000,
    rollingCountBuckets: 10,
    onBreaker: (state) => {
      states.push(state);
      waiting.filter((w) => w.state === state).forEach((w) => w.done());
    },
    ...overrides,
  });

  if (isTrained) guard.markTrained();

  const next = (state: BreakerState): Promise<void> =>
    new Promise((done) => waiting.push({ state, done }));

  return { guard, states, next };
}

const ok = (intent: string): Promise<IntentScore[]> => Promise.resolve([{ intent, score: 0.9 }]);

describe('NluGuard', () => {
  it('answers from the NLU when it answers in time', async () => {
    const { guard } = makeGuard({ provider: provider(() => ok('greet')) });
    const result = await guard.classify('hi', session);

    expect(result).toMatchObject({ source: 'nlu', intents: [{ intent: 'greet' }] });
    expect(result.fallback).toBeUndefined();
    guard.shutdown();
  });

  it('answers from the rules alone when no provider is given', async () => {
    const { guard } = makeGuard({});
    const result = await guard.classify('hi', session);

    expect(result).toMatchObject({ source: 'rules', intents: [{ intent: 'from_rules' }] });
    expect(result.fallback).toBeUndefined();
  });

  it('falls back to the rules until the provider is trained', async () => {
    const { guard } = makeGuard({ provider: provider(() => ok('greet')) }, false);
    const result = await guard.classify('hi', session);

    expect(result).toMatchObject({ source: 'rules', fallback: 'not_trained' });
    expect(result.error?.code).toBe('CORE_NLP_NOT_TRAINED');
    guard.shutdown();
  });

  it('gets the rules answer within the timeout plus 50 ms when the NLU is slow', async () => {
    const slow = provider(
      () => new Promise((done) => setTimeout(() => done([{ intent: 'late', score: 1 }]), 1_000)),
    );
    const { guard } = makeGuard({ provider: slow, timeoutMs: 100 });
    const started = performance.now();
    const result = await guard.classify('hi', session);
    const elapsed = performance.now() - started;

    expect(result).toMatchObject({
      source: 'rules',
      fallback: 'timeout',
      intents: [{ intent: 'from_rules' }],
    });
    expect(result.error?.code).toBe('CORE_NLP_TIMEOUT');
    expect(elapsed).toBeLessThan(150);
    guard.shutdown();
  });

  it('falls back with reason error when the provider rejects', async () => {
    const { guard } = makeGuard({ provider: provider(() => Promise.reject(new Error('boom'))) });
    const result = await guard.classify('hi', session);

    expect(result).toMatchObject({ source: 'rules', fallback: 'error' });
    expect(result.error?.code).toBe('CORE_NLP_FAILED');
    guard.shutdown();
  });

  it('opens after the configured failures, half-opens after the reset timeout and closes after a success', async () => {
    let isFailing = true;
    const flaky = provider(() => (isFailing ? Promise.reject(new Error('down')) : ok('greet')));
    const { guard, states, next } = makeGuard({
      provider: flaky,
      volumeThreshold: 3,
      resetTimeoutMs: 100,
    });
    const halfOpen = next('halfOpen');

    await guard.classify('1', session);
    await guard.classify('2', session);
    expect(guard.state).toBe('closed');
    await guard.classify('3', session);
    expect(guard.state).toBe('open');

    const rejected = await guard.classify('4', session);

    expect(rejected).toMatchObject({ fallback: 'circuit_open', source: 'rules' });
    expect(rejected.error?.code).toBe('CORE_NLP_CIRCUIT_OPEN');

    await halfOpen;
    expect(guard.state).toBe('halfOpen');
    isFailing = false;

    const recovered = await guard.classify('5', session);

    expect(recovered.source).toBe('nlu');
    expect(states).toEqual(['open', 'halfOpen', 'closed']);
    expect(guard.opens).toBe(1);
    guard.shutdown();
  });

  it('counts a throwing rule matcher as no candidates', async () => {
    const errors: unknown[] = [];
    const { guard } = makeGuard({
      rules: {
        match: () => {
          throw new Error('bad rules');
        },
      },
      onRulesError: (error) => errors.push(error),
    });
    const result = await guard.classify('hi', session);

    expect(result.intents).toEqual([]);
    expect(errors).toHaveLength(1);
  });
});
