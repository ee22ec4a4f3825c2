export { RuleEngine, compileRules, loadRules } from './rule-engine.js';
export type { RuleEngineStats } from './rule-engine.js';
export { RULES_EVENTS } from './events.js';
export type { RulesEvents, RulesLoadedEvent, RulesFailedEvent } from './events.js';
export type { RuleErrorDetails } from './errors.js';
export type {
  LoadFileOptions,
  LoadRulesOptions,
  RuleEngineOptions,
  RuleSpecInput,
  ValidRuleSpec,
} from './schema.js';
