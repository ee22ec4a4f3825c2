/**
 * Every error code Kefu throws. Codes are a contract: they are never renamed
 * or reused. A retired code stays in this list with a note saying so.
 */
export const ERROR_CODES = [
  // @kefu/core
  'CORE_OPTIONS_INVALID',
  'CORE_INPUT_INVALID',
  'CORE_SESSION_ID_INVALID',
  'CORE_TEXT_INVALID',
  'CORE_TEXT_EMPTY',
  'CORE_TEXT_TOO_LONG',
  'CORE_TEXT_MALFORMED',
  'CORE_ENGINE_CLOSED',
  'CORE_PLUGIN_NOT_FOUND',
  'CORE_PLUGIN_INVALID',
  'CORE_PLUGIN_LOAD_FAILED',
  'CORE_PLUGIN_SETUP_FAILED',
  'CORE_PLUGIN_DUPLICATE',
  'CORE_PLUGIN_FAILED',
  'CORE_PLUGIN_TIMEOUT',
  'CORE_NLP_TIMEOUT',
  'CORE_NLP_CIRCUIT_OPEN',
  'CORE_NLP_FAILED',
  'CORE_NLP_NOT_TRAINED',
  'CORE_SESSION_STORE_FAILED',
  // @kefu/rules
  'RULES_INVALID',
  'RULES_PARSE_FAILED',
  'RULES_DUPLICATE_ID',
  'RULES_UNSAFE_REGEX',
  'RULES_FILE_NOT_FOUND',
  'RULES_NO_MATCH',
  'RULES_OPTIONS_INVALID',
  // @kefu/intents
  'INTENTS_OPTIONS_INVALID',
  'INTENTS_DATA_INVALID',
  'INTENTS_NOT_TRAINED',
  'INTENTS_MODEL_INVALID',
  'INTENTS_MODEL_NOT_FOUND',
  'INTENTS_REMOTE_DISABLED',
  'INTENTS_REMOTE_TIMEOUT',
  'INTENTS_REMOTE_FAILED',
  'INTENTS_REMOTE_MALFORMED',
  'INTENTS_WORKER_FAILED',
  'INTENTS_DEPENDENCY_MISSING',
  // @kefu/transport-ws
  'TRANSPORT_WS_OPTIONS_INVALID',
  'TRANSPORT_WS_MESSAGE_INVALID',
  'TRANSPORT_WS_JSON_INVALID',
  'TRANSPORT_WS_BINARY_UNSUPPORTED',
  'TRANSPORT_WS_FRAME_TOO_LARGE',
  'TRANSPORT_WS_UNKNOWN_TYPE',
  'TRANSPORT_WS_HELLO_REQUIRED',
  'TRANSPORT_WS_HELLO_TIMEOUT',
  'TRANSPORT_WS_TOKEN_INVALID',
  'TRANSPORT_WS_UNAUTHORIZED',
  'TRANSPORT_WS_RATE_LIMITED',
  'TRANSPORT_WS_SESSION_NOT_FOUND',
  'TRANSPORT_WS_NOT_JOINED',
  'TRANSPORT_WS_ORIGIN_REFUSED',
  'TRANSPORT_WS_TOO_MANY_CONNECTIONS',
  'TRANSPORT_WS_ENGINE_FAILED',
  'TRANSPORT_WS_CLOSED',
  'TRANSPORT_WS_SESSION_TAKEN',
  // examples/server
  'SERVER_CONFIG_INVALID',
] as const;

/** A stable error code: package prefix plus SCREAMING_SNAKE. */
export type KefuErrorCode = (typeof ERROR_CODES)[number];

const BRAND = Symbol.for('kefu.error');

/** Options for {@link KefuError} beyond the code and message. */
export interface KefuErrorOptions {
  /** The error that caused this one (a zod error, a plugin's exception, ...). */
  cause?: unknown;
  /** Structured details, such as zod's issue list or the name of a plugin. */
  details?: Record<string, unknown>;
}

/**
 * The one error class Kefu throws. Match on `code`, never on the message.
 *
 * @example
 * ```ts
 * try { await engine.handle(input) } catch (err) {
 *   if (isKefuError(err, 'CORE_TEXT_TOO_LONG')) { ... }
 * }
 * ```
 */
export class KefuError extends Error {
  override readonly name = 'KefuError';
  readonly code: KefuErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: KefuErrorCode, message: string, options: KefuErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): { name: string; code: KefuErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/**
 * Tells whether `err` is a {@link KefuError}, optionally with one given code.
 * Checks a `Symbol.for` brand as well as `instanceof`, so it holds when two
 * copies of `@kefu/core` are installed side by side.
 */
export function isKefuError(err: unknown, code?: KefuErrorCode): err is KefuError {
  if (typeof err !== 'object' || err === null) return false;

  const branded = err instanceof KefuError || (err as Record<symbol, unknown>)[BRAND] === true;

  return branded && (code === undefined || (err as KefuError).code === code);
}
