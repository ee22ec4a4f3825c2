import CircuitBreaker from 'opossum';

import { KefuError } from './errors.js';
import type {
  BreakerState,
  FallbackReason,
  IntentScore,
  NluProvider,
  RuleCandidate,
  RuleMatcher,
  SessionView,
} from './types.js';

/** Options of {@link NluGuard}. */
export interface NluGuardOptions {
  provider: NluProvider | undefined;
  rules: RuleMatcher | undefined;
  timeoutMs: number;
  errorThresholdPercentage: number;
  volumeThreshold: number;
  resetTimeoutMs: number;
  rollingCountTimeoutMs: number;
  rollingCountBuckets: number;
  /** Called on each breaker transition. */
  onBreaker?: (state: BreakerState) => void;
  /** Called when the rule matcher throws; its answer counts as empty. */
  onRulesError?: (error: unknown) => void;
}

/** What the guard answers for one text. */
export interface GuardResult {
  /** Ranked intents, best first. */
  intents: readonly (IntentScore | RuleCandidate)[];
  source: 'nlu' | 'rules';
  /** Set when the rules answered in place of the NLU. */
  fallback?: FallbackReason;
  /** Why the NLU could not answer, as a `KefuError` (`CORE_NLP_*`). */
  error?: KefuError;
}

type ClassifyBreaker = CircuitBreaker<[string, SessionView | undefined], IntentScore[]>;

const EMPTY: readonly RuleCandidate[] = Object.freeze([]);

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Guards every NLU call with an opossum circuit breaker and a timeout; when
 * the NLU cannot answer (timeout, rejection, open breaker, not yet trained),
 * the rule matcher answers instead.
 *
 * A timeout fires only while the event loop is free: a provider that
 * computes synchronously for long blocks the timer too, so heavy providers
 * must work off the main thread.
 */
export class NluGuard {
  readonly #options: NluGuardOptions;
  readonly #breaker: ClassifyBreaker | undefined;
  #trained = false;
  #opens = 0;

  constructor(options: NluGuardOptions) {
    this.#options = options;

    const provider = options.provider;

    if (provider === undefined) return;

    const breaker = new CircuitBreaker<[string, SessionView | undefined], IntentScore[]>(
      (text, session) => provider.classify(text, session),
      {
        timeout: options.timeoutMs,
        errorThresholdPercentage: options.errorThresholdPercentage,
        volumeThreshold: options.volumeThreshold,
        resetTimeout: options.resetTimeoutMs,
        rollingCountTimeout: options.rollingCountTimeoutMs,
        rollingCountBuckets: options.rollingCountBuckets,
        // The engine keeps its own latency figures; opossum's percentiles and
        // snapshots would cost time on every call for nothing.
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
      },
    );
    const onBreaker = options.onBreaker;

    breaker.on('open', () => {
      this.#opens++;
      onBreaker?.('open');
    });
    breaker.on('halfOpen', () => onBreaker?.('halfOpen'));
    breaker.on('close', () => onBreaker?.('closed'));
    this.#breaker = breaker;
  }

  /** Whether an NLU provider is configured. */
  get hasProvider(): boolean {
    return this.#breaker !== undefined;
  }

  /** Whether the provider has finished one training; until then the rules answer. */
  get isTrained(): boolean {
    return this.#trained;
  }

  /** Marks the provider as trained (after its first successful `train()`). */
  markTrained(): void {
    this.#trained = true;
  }

  get state(): BreakerState {
    const breaker = this.#breaker;

    if (breaker === undefined || breaker.closed) return 'closed';

    return breaker.halfOpen ? 'halfOpen' : 'open';
  }

  get opens(): number {
    return this.#opens;
  }

  /**
   * Whether a turn should ask the NLU: a provider is configured and has
   * finished its first training.
   */
  get canClassify(): boolean {
    return this.#trained && this.#breaker !== undefined;
  }

  /** Asks the NLU through the breaker; rejects as opossum does (see {@link explain}). */
  fire(text: string, session: SessionView): Promise<IntentScore[]> {
    return (this.#breaker as ClassifyBreaker).fire(text, session);
  }

  /** Translates a rejection of {@link fire} into our error and fallback reason. */
  explain(cause: unknown): { reason: FallbackReason; error: KefuError } {
    const error = translate(cause, this.#options.timeoutMs);
    const reason: FallbackReason =
      error.code === 'CORE_NLP_TIMEOUT'
        ? 'timeout'
        : error.code === 'CORE_NLP_CIRCUIT_OPEN'
          ? 'circuit_open'
          : 'error';

    return { reason, error };
  }

  /** Why the NLU is skipped without being asked (`not_trained`), if it is. */
  skipped(): { reason: FallbackReason; error: KefuError } | undefined {
    if (this.#breaker === undefined) return undefined;

    return {
      reason: 'not_trained',
      error: new KefuError(
        'CORE_NLP_NOT_TRAINED',
        'the NLU provider has not finished its first training',
      ),
    };
  }

  /** Ranks intents for `text`: the NLU through the breaker, else the rules. */
  async classify(text: string, session: SessionView): Promise<GuardResult> {
    if (!this.canClassify) {
      const skip = this.skipped();
      const intents = await this.matchRules(text, session);

      return skip === undefined
        ? { intents, source: 'rules' }
        : { intents, source: 'rules', fallback: skip.reason, error: skip.error };
    }

    try {
      return { intents: await this.fire(text, session), source: 'nlu' };
    } catch (cause) {
      const { reason, error } = this.explain(cause);

      return {
        intents: await this.matchRules(text, session),
        source: 'rules',
        fallback: reason,
        error,
      };
    }
  }

  /** The rule matcher's answer; a throwing matcher counts as no candidates. */
  matchRules(
    text: string,
    session: SessionView,
  ): readonly RuleCandidate[] | Promise<readonly RuleCandidate[]> {
    const rules = this.#options.rules;

    if (rules === undefined) return EMPTY;

    try {
      const result = rules.match(text, session);

      if (!isThenable(result)) return result;

      return Promise.resolve(result).catch((error: unknown) => {
        this.#options.onRulesError?.(error);

        return EMPTY;
      });
    } catch (error) {
      this.#options.onRulesError?.(error);

      return EMPTY;
    }
  }

  /** Stops the breaker's timers. */
  shutdown(): void {
    this.#breaker?.shutdown();
  }
}

function translate(cause: unknown, timeoutMs: number): KefuError {
  const ours = CircuitBreaker.isOurError(cause as Error);
  const code = ours ? (cause as { code?: unknown }).code : undefined;

  if (code === 'ETIMEDOUT') {
    return new KefuError('CORE_NLP_TIMEOUT', `the NLU did not answer within ${timeoutMs} ms`, {
      cause,
    });
  }

  if (code === 'EOPENBREAKER') {
    return new KefuError('CORE_NLP_CIRCUIT_OPEN', 'the NLU circuit breaker is open', { cause });
  }

  return new KefuError('CORE_NLP_FAILED', 'the NLU provider failed', { cause });
}
