import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_AGENT_TOKEN, loadConfig } from '../src/config.js';
import { HERE, removeDir } from './helpers.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }

  return undefined;
}

describe('loadConfig()', () => {
  let dir: string;

  beforeAll(async () => {
    await mkdir(join(HERE, '.tmp'), { recursive: true });
    dir = await mkdtemp(join(HERE, '.tmp', 'config-'));
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('defaults to port 8080, Asia/Shanghai and a marked development agent token', () => {
    const config = loadConfig({ env: {} });

    expect(config.port).toBe(8080);
    expect(config.timezone).toBe('Asia/Shanghai');
    expect(config.watch).toBe(true);
    expect(config.agentToken).toBe(DEV_AGENT_TOKEN);
    expect(config.isDevAgentToken).toBe(true);
  });

  it('lets flags win over the environment, and the environment over a config file', async () => {
    const file = join(dir, 'kefu.yaml');

    await writeFile(file, 'port: 7000\ntimezone: Europe/Paris\nbusinessHours: "08:00-18:00"\n');

    const config = loadConfig({
      argv: ['--config', file, '--port', '9000'],
      env: { PORT: '8500', KEFU_TIMEZONE: 'America/New_York', KEFU_AGENT_TOKEN: 'secret-token' },
    });

    expect(config.port).toBe(9000);
    expect(config.timezone).toBe('America/New_York');
    expect(config.businessHours).toBe('08:00-18:00');
    expect(config.isDevAgentToken).toBe(false);
  });

  it('reads a JSON config file named by KEFU_CONFIG', async () => {
    const file = join(dir, 'kefu.json');

    await writeFile(
      file,
      JSON.stringify({ port: 0, watch: false, allowedOrigins: ['https://shop.example'] }),
    );

    const config = loadConfig({ env: { KEFU_CONFIG: file } });

    expect(config).toMatchObject({
      port: 0,
      watch: false,
      allowedOrigins: ['https://shop.example'],
    });
  });

  it("resolves paths in a config file against the file's folder", async () => {
    const file = join(dir, 'paths.yaml');

    await writeFile(file, 'pluginsDir: ./my-plugins\nrulesFile: ../rules.yaml\n');

    const config = loadConfig({ argv: ['--config', file], env: {} });

    expect(config.pluginsDir).toBe(join(dir, 'my-plugins'));
    expect(config.rulesFile).toBe(join(dir, '..', 'rules.yaml'));
  });

  it('turns string booleans from the environment into booleans', () => {
    expect(loadConfig({ env: { KEFU_WATCH: 'false' } }).watch).toBe(false);
    expect(loadConfig({ argv: ['--no-watch'], env: {} }).watch).toBe(false);
  });

  it('reads a JSON config file saved with a byte-order mark', async () => {
    const file = join(dir, 'bom.json');

    await writeFile(file, '\uFEFF{ "port": 3001 }');

    expect(loadConfig({ argv: ['--config', file], env: {} }).port).toBe(3001);
  });

  describe('SERVER_CONFIG_INVALID', () => {
    it('names the setting and where the bad value came from', () => {
      let error: { code?: string; message?: string } = {};

      try {
        loadConfig({ env: { PORT: 'eighty' } });
      } catch (err) {
        error = err as typeof error;
      }

      expect(error.code).toBe('SERVER_CONFIG_INVALID');
      expect(error.message).toContain('port');
      expect(error.message).toContain('PORT');
    });

    it('names an unknown key of a config file and the file', async () => {
      const file = join(dir, 'typo.yaml');
      let error: { code?: string; message?: string } = {};

      await writeFile(file, 'prot: 8080\n');
      try {
        loadConfig({ argv: ['--config', file], env: {} });
      } catch (err) {
        error = err as typeof error;
      }

      expect(error.code).toBe('SERVER_CONFIG_INVALID');
      expect(error.message).toContain('prot (from config file');
      expect(error.message).toContain(file);
    });

    it.each([
      ['a port out of range', { argv: ['--port', '70000'] }],
      ['an unknown time zone', { env: { KEFU_TIMEZONE: 'Mars/Olympus_Mons' } }],
      ['malformed business hours', { env: { KEFU_BUSINESS_HOURS: '9am-9pm' } }],
      ['a closing time past 24:00', { env: { KEFU_BUSINESS_HOURS: '09:00-24:30' } }],
      ['an unknown flag', { argv: ['--colour', 'blue'] }],
      ['a short agent token', { env: { KEFU_AGENT_TOKEN: 'abc' } }],
      ['an unknown log level', { env: { LOG_LEVEL: 'chatty' } }],
      ['a missing config file', { argv: ['--config', '/nonexistent/kefu.yaml'] }],
    ])('is thrown for %s', (_name, sources) => {
      expect(codeOf(() => loadConfig({ env: {}, ...sources }))).toBe('SERVER_CONFIG_INVALID');
    });

    it('is thrown for an unknown key or bad YAML in a config file', async () => {
      const unknown = join(dir, 'unknown.yaml');
      const broken = join(dir, 'broken.yaml');

      await writeFile(unknown, 'prot: 8080\n');
      await writeFile(broken, 'port: [8080\n');

      expect(codeOf(() => loadConfig({ argv: ['--config', unknown], env: {} }))).toBe(
        'SERVER_CONFIG_INVALID',
      );
      expect(codeOf(() => loadConfig({ argv: ['--config', broken], env: {} }))).toBe(
        'SERVER_CONFIG_INVALID',
      );
    });
  });
});
