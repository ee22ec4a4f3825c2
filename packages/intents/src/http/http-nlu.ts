import { KefuError, silentLogger } from '@kefu/core';
import type { IntentScore, Logger, NluProvider, SessionView, TrainingExample } from '@kefu/core';
import { z } from 'zod';

import { buildChatRequest, parseChatAnswer } from './openai.js';
import { parseRasaAnswer } from './rasa.js';
import { postJson } from './post-json.js';

const isLogger = (value: unknown): value is Logger =>
  typeof value === 'object' &&
  value !== null &&
  ['debug', 'info', 'warn', 'error', 'child'].every(
    (method) => typeof (value as Record<string, unknown>)[method] === 'function',
  );

const DEFAULT_PATHS = { rasa: '/model/parse', openai: '/v1/chat/completions' } as const;

const optionsSchema = z
  .object({
    kind: z.enum(['rasa', 'openai']),
    url: z.url({ protocol: /^https?$/ }),
    path: z.string().startsWith('/').optional(),
    model: z.string().min(1).optional(),
    apiKey: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    timeoutMs: z.int().min(1).max(600_000).default(5_000),
    examplesPerIntent: z.int().min(0).max(50).default(3),
    unknownIntent: z.enum(['error', 'oos']).optional(),
    oosIntents: z.array(z.string().min(1)).default(['nlu_fallback', 'out_of_scope']),
    jsonMode: z.boolean().default(true),
    maxResponseBytes: z
      .int()
      .min(1_024)
      .max(64 * 1_048_576)
      .default(1_048_576),
    logger: z.custom<Logger>(isLogger).optional(),
  })
  .strict()
  .refine((o) => o.kind !== 'openai' || o.model !== undefined, {
    path: ['model'],
    message: 'an openai endpoint needs a model name',
  });

/** Options of {@link HttpNlu}; see the package README for each one. */
export type HttpNluOptions = z.input<typeof optionsSchema>;

type ParsedOptions = z.output<typeof optionsSchema>;

const examplesSchema = z
  .array(z.object({ text: z.string().trim().min(1), intent: z.string().trim().min(1) }))
  .min(1);

/**
 * An NLU that asks a remote service: a Rasa server's `/model/parse`, or an
 * OpenAI-compatible chat-completions endpoint asked to pick one of the
 * trained intents (or `oos`) and answer in JSON. Every call is bounded by
 * `timeoutMs`; the engine's circuit breaker handles a service that keeps
 * failing.
 *
 * @example
 * ```ts
 * const nlu = new HttpNlu({ kind: 'rasa', url: 'http://localhost:5005' });
 * const [best] = await nlu.classify('where is my parcel');
 * ```
 */
export class HttpNlu implements NluProvider {
  readonly name: string;
  readonly #options: ParsedOptions;
  readonly #logger: Logger;
  readonly #endpoint: string;
  readonly #inFlight = new Set<AbortController>();
  readonly #oosNames: ReadonlySet<string>;
  /** Trained intent names, `oos` excluded; empty until `train()`. */
  #intents = new Set<string>();
  /** For the openai prompt: up to `examplesPerIntent` texts per intent. */
  #examples = new Map<string, string[]>();

  /** @throws {KefuError} `INTENTS_OPTIONS_INVALID` naming the bad field. */
  constructor(options: HttpNluOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path.join('.') ?? '';
      throw new KefuError('INTENTS_OPTIONS_INVALID', `HttpNlu option "${field}" is invalid`, {
        cause: parsed.error,
        details: { issues: parsed.error.issues },
      });
    }

    this.#options = parsed.data;
    this.#oosNames = new Set(parsed.data.oosIntents);
    this.name = `http-${parsed.data.kind}`;
    this.#logger = (parsed.data.logger ?? silentLogger).child({ nlu: this.name });
    this.#endpoint =
      parsed.data.url.replace(/\/+$/, '') + (parsed.data.path ?? DEFAULT_PATHS[parsed.data.kind]);
  }

  /**
   * Records the intents (and, for `openai`, a few examples of each for the
   * prompt). Nothing is sent: a Rasa server is trained on its own side.
   * @throws {KefuError} `INTENTS_DATA_INVALID`.
   */
  async train(examples: readonly TrainingExample[]): Promise<void> {
    const parsed = examplesSchema.safeParse(examples);
    if (!parsed.success) {
      throw new KefuError(
        'INTENTS_DATA_INVALID',
        'training examples must be a non-empty list of { text, intent }',
        {
          cause: parsed.error,
          details: { issues: parsed.error.issues },
        },
      );
    }

    const byIntent = new Map<string, string[]>();
    for (const { text, intent } of parsed.data) {
      if (intent === 'oos' || this.#oosNames.has(intent)) continue;
      const texts = byIntent.get(intent) ?? [];
      if (texts.length < this.#options.examplesPerIntent) texts.push(text);
      byIntent.set(intent, texts);
    }

    this.#intents = new Set(byIntent.keys());
    this.#examples = byIntent;
  }

  /**
   * Asks the service. `oos` on top (or an empty list) means out of scope.
   * @throws {KefuError} `INTENTS_NOT_TRAINED` (openai before `train()`),
   *   `INTENTS_DATA_INVALID`, `INTENTS_REMOTE_TIMEOUT`,
   *   `INTENTS_REMOTE_FAILED`, `INTENTS_REMOTE_MALFORMED`.
   */
  async classify(text: string, _session?: SessionView): Promise<IntentScore[]> {
    if (typeof text !== 'string') {
      throw new KefuError(
        'INTENTS_DATA_INVALID',
        `classify() expects a string, got ${typeof text}`,
      );
    }
    if (this.#options.kind === 'openai' && this.#intents.size === 0) {
      throw new KefuError(
        'INTENTS_NOT_TRAINED',
        'HttpNlu (openai) needs train() to know the intents',
      );
    }
    if (text.trim() === '') return [{ intent: 'oos', score: 1 }];

    const started = performance.now();
    const body =
      this.#options.kind === 'rasa'
        ? { text }
        : buildChatRequest(text, this.#options.model ?? '', this.#examples, this.#options.jsonMode);
    const answer = await postJson(this.#endpoint, body, {
      headers: this.#headers(),
      timeoutMs: this.#options.timeoutMs,
      maxResponseBytes: this.#options.maxResponseBytes,
      inFlight: this.#inFlight,
    });
    const scores =
      this.#options.kind === 'rasa'
        ? parseRasaAnswer(
            answer,
            this.#intents,
            this.#options.unknownIntent ?? 'oos',
            this.#oosNames,
          )
        : parseChatAnswer(
            answer,
            this.#intents,
            this.#options.unknownIntent ?? 'error',
            this.#oosNames,
          );

    this.#logger.debug(
      {
        intent: scores[0]?.intent,
        confidence: scores[0]?.score,
        durationMs: Math.round(performance.now() - started),
      },
      'remote nlu answered',
    );

    return scores;
  }

  /** Aborts the calls in flight (they fail with `INTENTS_REMOTE_FAILED`). */
  async close(): Promise<void> {
    for (const controller of this.#inFlight) controller.abort();
    this.#inFlight.clear();
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...this.#options.headers,
    };
    if (this.#options.apiKey !== undefined)
      headers.authorization = `Bearer ${this.#options.apiKey}`;

    return headers;
  }
}
