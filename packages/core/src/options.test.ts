import { describe, expect, it } from 'vitest';

import { isKefuError } from './errors.js';
import { DEFAULTS, resolveOptions } from './options.js';

function failure(input: unknown): { code: string; message: string } {
  try {
    resolveOptions(input);
  } catch (error) {
    if (isKefuError(error)) return { code: error.code, message: error.message };
    throw error;
  }

  throw new Error('expected the options to be refused');
}

describe('resolveOptions()', () => {
  it('fills in every default', () => {
    const o = resolveOptions({});

    expect(o.threshold).toBe(DEFAULTS.threshold);
    expect(o.maxTextLength).toBe(4_000);
    expect(o.sessions).toMatchObject({ max: DEFAULTS.sessionsMax, ttlMs: DEFAULTS.sessionTtlMs });
    expect(o.nlu.provider).toBeUndefined();
    expect(o.outOfScopeReply).toEqual(DEFAULTS.outOfScopeReply);
  });

  it('uses one out-of-scope text for both languages when given a string', () => {
    expect(resolveOptions({ outOfScopeReply: 'No idea' }).outOfScopeReply).toEqual({
      en: 'No idea',
      zh: 'No idea',
    });
  });

  it.each([
    [{ threshold: 2 }, 'threshold'],
    [{ sessions: { max: -1 } }, 'sessions.max'],
    [{ nlu: { breaker: { resetTimeoutMs: 'soon' } } }, 'nlu.breaker.resetTimeoutMs'],
    [{ nlu: { provider: {} } }, 'nlu.provider'],
    [{ rules: { nope: true } }, 'rules'],
    [{ plugins: { files: [1] } }, 'plugins.files.0'],
    [{ logger: console.log }, 'logger'],
    [{ unknownOption: 1 }, 'unknownOption'],
    [{ plugins: { dirr: 'x' } }, 'plugins.dirr'],
    [{ nlu: { breaker: { resetTimeout: 5 } } }, 'nlu.breaker.resetTimeout:'],
  ])('refuses %j with CORE_OPTIONS_INVALID naming %s', (input, path) => {
    const { code, message } = failure(input);

    expect(code).toBe('CORE_OPTIONS_INVALID');
    expect(message).toContain(path);
  });
});
