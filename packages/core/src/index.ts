export { KefuError, isKefuError, ERROR_CODES } from './errors.js';
export type { KefuErrorCode, KefuErrorOptions } from './errors.js';
export { silentLogger } from './logger.js';
export type { Logger, LogFn } from './logger.js';
export { normalizeText, tokenize, stemWord, hasCjk } from './text.js';
export type { Token, TokenScript } from './text.js';
export { definePlugin } from './define-plugin.js';
export { createEngine } from './engine.js';
export type { EngineOptions } from './options.js';
export { SessionPool } from './session-pool.js';
export type { SessionEndReason, SessionPoolOptions } from './session-pool.js';
export { MemorySessionStore } from './session-store.js';
export type { MemorySessionStoreOptions } from './session-store.js';
export type {
  BreakerState,
  Detection,
  Engine,
  EngineEvents,
  EngineListener,
  EngineStats,
  FallbackReason,
  HistoryEntry,
  IntentScore,
  NluProvider,
  NluResult,
  NoMatchReason,
  Plugin,
  PluginApi,
  PluginInfo,
  PluginIntent,
  PluginRegistry,
  PluginReply,
  Reply,
  ReplyAction,
  ReplySource,
  RuleCandidate,
  RuleMatcher,
  RuleSpec,
  Session,
  SessionPoolStats,
  SessionStore,
  SessionView,
  TrainingExample,
  Turn,
  TurnInput,
} from './types.js';
