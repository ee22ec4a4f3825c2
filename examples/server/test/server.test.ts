import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { AGENT_TOKEN, TestClient, makeWorkDir, removeDir, startTestServer } from './helpers.js';
import type { WorkDir } from './helpers.js';

const PLUGINS = ['greeting.js', 'order-status.ts', 'handoff.js', 'business-hours.ts'];

describe('example server', () => {
  let server: RunningServer;
  let work: WorkDir;
  let wsUrl: string;

  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    work = await makeWorkDir(PLUGINS);

    const sink = {
      write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>),
    };

    server = await startTestServer(
      { pluginsDir: work.pluginsDir, rulesFile: work.rulesFile },
      pino({ level: 'info' }, sink),
    );
    await server.ready;
    wsUrl = `${server.url.replace('http', 'ws')}/ws`;
  });

  afterAll(async () => {
    await server?.close();
    await removeDir(work.dir);
  });

  describe('HTTP routes', () => {
    it('serves the demo page with the widget script', async () => {
      const res = await fetch(`${server.url}/`);

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toContain('src="/widget.js"');
    });

    it('serves the agent console and the static assets', async () => {
      for (const [path, type] of [
        ['/agent', /text\/html/],
        ['/widget.js', /javascript/],
        ['/agent.js', /javascript/],
        ['/agent.css', /text\/css/],
      ] as const) {
        const res = await fetch(`${server.url}${path}`);

        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-type'), path).toMatch(type);
      }
    });

    it('answers /healthz and /readyz once trained', async () => {
      const health = await fetch(`${server.url}/healthz`);
      const ready = await fetch(`${server.url}/readyz`);

      expect(health.status).toBe(200);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
    });

    it('refuses unknown paths, paths outside the public folder and other methods', async () => {
      expect((await fetch(`${server.url}/nope.js`)).status).toBe(404);
      expect((await fetch(`${server.url}/%2e%2e/package.json`)).status).toBe(404);
      expect((await fetch(`${server.url}/%E0%A4%A`)).status).toBe(404);
      expect((await fetch(`${server.url}/healthz`, { method: 'POST' })).status).toBe(405);
    });

    it('exposes Prometheus metrics with plugin versions', async () => {
      const res = await fetch(`${server.url}/metrics`);
      const body = await res.text();

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/plain/);
      expect(body).toMatch(
        /kefu_plugin_info\{name="greeting",version="1\.0\.0",state="active"\} 1/,
      );
      for (const name of [
        'kefu_turns_total',
        'kefu_turn_latency_seconds',
        'kefu_nlu_fallbacks_total',
        'kefu_breaker_state',
        'kefu_session_pool_size',
        'kefu_session_pool_hit_rate',
        'kefu_ws_connections',
        'kefu_ws_peers',
        'kefu_ws_events',
      ]) {
        expect(body, name).toContain(name);
      }
    });
  });

  describe('live chat on /ws', () => {
    it('asks for the order number, then answers with it', async () => {
      const visitor = await TestClient.open(wsUrl);

      visitor.send({ type: 'hello', role: 'visitor' });
      await visitor.next((f) => f.type === 'welcome');
      visitor.send({ type: 'message', id: 'm1', text: 'where is my order' });
      expect(await visitor.next((f) => f.type === 'ack')).toMatchObject({ id: 'm1' });

      const ask = await visitor.next((f) => f.type === 'message' && f.from === 'bot');

      expect(ask).toMatchObject({ intent: 'order.status', replyTo: 'm1' });
      expect(String(ask.text)).not.toMatch(/\d{6}/);

      visitor.send({ type: 'message', id: 'm2', text: '20261203' });

      const answer = await visitor.next((f) => f.type === 'message' && f.from === 'bot');

      expect(answer).toMatchObject({ intent: 'order.status', replyTo: 'm2' });
      expect(answer.text).toContain('20261203');
      visitor.close();

      // The turn's log line carries the trace id the visitor got, and no visitor text.
      const line = logLines.find((l) => l.msg === 'turn answered' && l.traceId === answer.traceId);

      expect(line).toMatchObject({ intent: 'order.status', plugin: 'order-status' });
      expect(JSON.stringify(logLines)).not.toContain('20261203');

      const metrics = await (await fetch(`${server.url}/metrics`)).text();

      expect(metrics).toMatch(/kefu_turns_total\{source="\w+"\} [1-9]/);
    });

    it('answers in Chinese when the visitor writes Chinese', async () => {
      const visitor = await TestClient.open(wsUrl);

      visitor.send({ type: 'hello', role: 'visitor' });
      await visitor.next((f) => f.type === 'welcome');
      visitor.send({ type: 'message', id: 'z1', text: '你好' });

      const reply = await visitor.next((f) => f.type === 'message' && f.from === 'bot');

      expect(reply.intent).toBe('greeting.hello');
      expect(String(reply.text)).toMatch(/[\u4e00-\u9fff]/);
      visitor.close();
    });

    it('hands a visitor who asks for a human to an agent and back', async () => {
      const visitor = await TestClient.open(wsUrl);
      const agent = await TestClient.open(wsUrl);

      visitor.send({ type: 'hello', role: 'visitor' });
      const { sessionId } = await visitor.next((f) => f.type === 'welcome');

      agent.send({ type: 'hello', role: 'agent', token: AGENT_TOKEN, name: 'Mei' });
      await agent.next((f) => f.type === 'welcome');
      visitor.send({ type: 'message', id: 'h1', text: '转人工' });

      const reply = await visitor.next((f) => f.type === 'message' && f.from === 'bot');

      expect(reply.intent).toBe('handoff.request');
      expect(reply.actions).toEqual([expect.objectContaining({ type: 'handoff' })]);
      await agent.next(
        (f) =>
          f.type === 'queue' &&
          (f.sessions as { sessionId: string }[]).some((s) => s.sessionId === sessionId),
      );

      agent.send({ type: 'join', sessionId });
      await agent.next((f) => f.type === 'joined');
      expect(await visitor.next((f) => f.type === 'agent.joined')).toMatchObject({
        agent: { name: 'Mei' },
      });

      agent.send({ type: 'message', id: 'a1', sessionId, text: 'Hi, Mei here.' });
      expect(await visitor.next((f) => f.type === 'message')).toMatchObject({
        from: 'agent',
        text: 'Hi, Mei here.',
      });

      agent.send({ type: 'leave', sessionId });
      await visitor.next((f) => f.type === 'agent.left');
      visitor.close();
      agent.close();
    });

    it('refuses an agent with the wrong token', async () => {
      const agent = await TestClient.open(wsUrl);

      agent.send({ type: 'hello', role: 'agent', token: 'not-the-token', name: 'Eve' });
      expect(await agent.next((f) => f.type === 'error')).toMatchObject({
        code: 'TRANSPORT_WS_UNAUTHORIZED',
      });
      agent.close();
    });
  });

  describe('plugin hot reload', () => {
    /** Resolves when the engine has swapped in `version` of plugin `name`. */
    const pluginLoaded = (name: string, version: string): Promise<void> =>
      new Promise((resolveLoaded) => {
        const onLoaded = (loaded: { name: string; version: string }): void => {
          if (loaded.name !== name || loaded.version !== version) return;
          server.engine.off('plugin.loaded', onLoaded);
          resolveLoaded();
        };

        server.engine.on('plugin.loaded', onLoaded);
      });

    it('answers with the new version after the file changes', async () => {
      const file = join(work.pluginsDir, 'greeting.js');
      const source = await readFile(file, 'utf8');
      const loaded = pluginLoaded('greeting', '1.1.0');

      await writeFile(
        file,
        source
          .replace("version: '1.0.0'", "version: '1.1.0'")
          .replace('text: "Hi! I\'m the Kefu assistant.', 'text: "Hello from version 1.1!'),
      );
      await loaded;

      const reply = await server.engine.handle({ sessionId: 'reload', text: 'hello' });

      expect(reply.plugin).toEqual({ name: 'greeting', version: '1.1.0' });
      expect(reply.text).toContain('version 1.1');

      const metrics = await (await fetch(`${server.url}/metrics`)).text();

      expect(metrics).toContain(
        'kefu_plugin_info{name="greeting",version="1.1.0",state="active"} 1',
      );
    });

    it("reloads a TypeScript plugin through the engine's transpiler too", async () => {
      const file = join(work.pluginsDir, 'order-status.ts');
      const source = await readFile(file, 'utf8');
      const loaded = pluginLoaded('order-status', '1.0.1');

      await writeFile(
        file,
        source
          .replace("version: '1.0.0'", "version: '1.0.1'")
          .replace("Sure — what's your order number?", 'Your order number, please?'),
      );
      await loaded;

      const reply = await server.engine.handle({
        sessionId: 'reload-ts',
        text: 'where is my order',
      });

      expect(reply.plugin).toEqual({ name: 'order-status', version: '1.0.1' });
      expect(reply.text).toBe('Your order number, please?');
    });
  });
});
