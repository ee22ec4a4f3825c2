import { describe, expect, it } from 'vitest';

import { explainLoadFailure, loadFailureCode } from './load-failure.js';

describe('loadFailureCode()', () => {
  it('tells a missing transformers library from a missing or broken model', () => {
    const missing = "Cannot find package '@xenova/transformers' imported from /app/embed-worker.js";

    expect(loadFailureCode(missing)).toBe('INTENTS_DEPENDENCY_MISSING');
    expect(explainLoadFailure(missing)).toContain('npm install @xenova/transformers');
    expect(loadFailureCode('Could not locate file: "onnx/model.onnx"')).toBe('INTENTS_MODEL_NOT_FOUND');
    expect(loadFailureCode('fetch failed')).toBe('INTENTS_REMOTE_FAILED');
    expect(loadFailureCode('protobuf parsing failed')).toBe('INTENTS_MODEL_INVALID');
  });

  it('keeps the library words for every other failure', () => {
    expect(explainLoadFailure('protobuf parsing failed')).toBe('protobuf parsing failed');
  });
});
