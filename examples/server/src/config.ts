import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KefuError } from '@kefu/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const EXAMPLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The agent token used when `KEFU_AGENT_TOKEN` is unset: for local development only. */
export const DEV_AGENT_TOKEN = 'dev-agent-token';

const toBoolean = z.union([
  z.boolean(),
  z.enum(['true', '1', 'yes', 'on']).transform(() => true),
  z.enum(['false', '0', 'no', 'off']).transform(() => false),
]);

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const configSchema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  pluginsDir: z.string().min(1).default(resolve(EXAMPLES_DIR, 'plugins')),
  watch: toBoolean.default(true),
  rulesFile: z.string().min(1).default(resolve(EXAMPLES_DIR, 'server/rules.yaml')),
  timezone: z
    .string()
    .refine(isTimeZone, { message: 'expected an IANA time zone such as Asia/Shanghai' })
    .default('Asia/Shanghai'),
  businessHours: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'expected HH:MM-HH:MM')
    .default('09:00-21:00'),
  agentToken: z.string().min(8).optional(),
  secret: z.string().min(16).optional(),
  threshold: z.coerce.number().min(0).max(1).optional(),
  offerHuman: toBoolean.default(true),
  modelCacheDir: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  allowedOrigins: z
    .union([z.array(z.string()), z.string().transform((s) => s.split(',').filter(Boolean))])
    .optional(),
});

/** Every setting's name, as written in a config file (the README's table lists them all). */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof typeof configSchema.shape)[];

/** The example server's configuration, after defaults and validation. */
export type ServerConfig = z.infer<typeof configSchema> & {
  /** True when the agent token is the printed development default. */
  isDevAgentToken: boolean;
  agentToken: string;
};

/** The server's configuration as written: every field optional. */
export type ServerConfigInput = z.input<typeof configSchema>;

type Key = keyof ServerConfigInput;

const ENV_KEYS: Record<string, Key> = {
  PORT: 'port',
  HOST: 'host',
  KEFU_PLUGINS_DIR: 'pluginsDir',
  KEFU_WATCH: 'watch',
  KEFU_RULES_FILE: 'rulesFile',
  KEFU_TIMEZONE: 'timezone',
  KEFU_BUSINESS_HOURS: 'businessHours',
  KEFU_AGENT_TOKEN: 'agentToken',
  KEFU_SECRET: 'secret',
  KEFU_THRESHOLD: 'threshold',
  KEFU_OFFER_HUMAN: 'offerHuman',
  KEFU_MODEL_CACHE_DIR: 'modelCacheDir',
  KEFU_ALLOWED_ORIGINS: 'allowedOrigins',
  LOG_LEVEL: 'logLevel',
};

/** The environment variable of each setting. */
export const CONFIG_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ENV_KEYS).map(([name, key]) => [key, name]),
);

const PATH_KEYS = new Set<string>(['pluginsDir', 'rulesFile', 'modelCacheDir']);

const FLAGS = {
  config: { type: 'string' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  plugins: { type: 'string' },
  rules: { type: 'string' },
  timezone: { type: 'string' },
  'business-hours': { type: 'string' },
  threshold: { type: 'string' },
  'log-level': { type: 'string' },
  'no-watch': { type: 'boolean' },
  'no-offer-human': { type: 'boolean' },
} as const;

function invalid(message: string, details: Record<string, unknown> = {}): KefuError {
  return new KefuError('SERVER_CONFIG_INVALID', message, { details });
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;

  try {
    // A byte-order mark, as Windows editors write it, is no part of the JSON.
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    throw invalid(`config file ${file} could not be read`, { file, cause: String(err) });
  }

  let parsed: unknown;

  try {
    parsed = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const format = extname(file) === '.json' ? 'JSON' : 'YAML';

    throw invalid(`config file ${file} is not valid ${format}`, { file, cause: String(err) });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid(`config file ${file} must hold an object of settings`, { file });
  }

  return parsed as Record<string, unknown>;
}

/** Where the configuration comes from; `process.argv` and `process.env` in `main.ts`. */
export interface ConfigSources {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Settings that win over everything else (tests use this). */
  overrides?: ServerConfigInput;
}

/**
 * Merges defaults, an optional config file (`--config` or `KEFU_CONFIG`,
 * JSON or YAML), the environment and flags, in that order of precedence,
 * and validates the result.
 *
 * @throws `SERVER_CONFIG_INVALID` naming the setting and where it came from.
 */
export function loadConfig(sources: ConfigSources = {}): ServerConfig {
  const env = sources.env ?? {};
  let flags: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>['values'];

  try {
    flags = parseArgs({ args: [...(sources.argv ?? [])], options: FLAGS, strict: true }).values;
  } catch (err) {
    throw invalid(`bad command line: ${(err as Error).message}`);
  }

  const origin = new Map<Key, string>();
  const merged: Record<string, unknown> = {};
  const set = (key: Key, value: unknown, from: string): void => {
    if (value === undefined) return;
    merged[key] = value;
    origin.set(key, from);
  };

  const file = flags.config ?? env.KEFU_CONFIG;

  if (file !== undefined) {
    const path = resolve(file);

    for (const [key, value] of Object.entries(readConfigFile(path))) {
      // Paths in a config file are relative to the file, not to the working directory.
      const isPath = PATH_KEYS.has(key) && typeof value === 'string';

      merged[key] = isPath ? resolve(dirname(path), value) : value;
      origin.set(key as Key, `config file ${file}`);
    }
  }
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];

    if (value !== undefined && value !== '') set(key, value, `env ${name}`);
  }
  set('port', flags.port, '--port');
  set('host', flags.host, '--host');
  set('pluginsDir', flags.plugins, '--plugins');
  set('rulesFile', flags.rules, '--rules');
  set('timezone', flags.timezone, '--timezone');
  set('businessHours', flags['business-hours'], '--business-hours');
  set('threshold', flags.threshold, '--threshold');
  set('logLevel', flags['log-level'], '--log-level');
  if (flags['no-watch'] === true) set('watch', false, '--no-watch');
  if (flags['no-offer-human'] === true) set('offerHuman', false, '--no-offer-human');
  for (const [key, value] of Object.entries(sources.overrides ?? {})) {
    set(key as Key, value, 'overrides');
  }

  const result = configSchema.safeParse(merged);

  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      // An unknown key is reported on the object holding it: name the key itself.
      const path = issue.code === 'unrecognized_keys' ? issue.keys : issue.path;
      const key = String(path[0] ?? '');
      const from = origin.get(key as Key);

      return `${path.join('.') || '(root)'}${from ? ` (from ${from})` : ''}: ${issue.message}`;
    });

    throw invalid(`invalid configuration: ${problems.join('; ')}`, { issues: result.error.issues });
  }

  const config = result.data;

  return {
    ...config,
    pluginsDir: resolve(config.pluginsDir),
    rulesFile: resolve(config.rulesFile),
    agentToken: config.agentToken ?? DEV_AGENT_TOKEN,
    isDevAgentToken: config.agentToken === undefined,
  };
}
