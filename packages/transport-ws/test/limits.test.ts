import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isKefuError, type Engine } from '@kefu/core';
import { describe, expect, it } from 'vitest';
import { createChatServer } from '../src/index.js';
import { TestClient } from './helpers/client.js';
import { useChatHarness } from './helpers/harness.js';
import { nextEvent } from './helpers/server.js';

const harness = useChatHarness();
const { serve, connect } = harness;

describe('malformed frames', () => {
  it('answers each with an error code and keeps the connection open', async () => {
    const { url } = await serve({ maxPayload: 1024 });
    const client = await connect(url);

    const cases: [string | Buffer, string][] = [
      ['{"type":"message","id":"early","text":"hi"}', 'TRANSPORT_WS_HELLO_REQUIRED'],
      ['{not json', 'TRANSPORT_WS_JSON_INVALID'],
      [Buffer.from([1, 2, 3]), 'TRANSPORT_WS_BINARY_UNSUPPORTED'],
      [JSON.stringify({ type: 'hello', pad: 'x'.repeat(2000) }), 'TRANSPORT_WS_FRAME_TOO_LARGE'],
      ['{"type":"dance"}', 'TRANSPORT_WS_UNKNOWN_TYPE'],
      ['[1,2]', 'TRANSPORT_WS_MESSAGE_INVALID'],
    ];
    for (const [data, code] of cases) {
      client.ws.send(data, { binary: Buffer.isBuffer(data) });
      expect(await client.nextOf('error')).toMatchObject({ code });
    }

    await client.hello();
    client.send({ type: 'message', id: 'no-text' });
    expect(await client.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_MESSAGE_INVALID', id: 'no-text' });
    client.send({ type: 'message', id: 'long', text: 'x'.repeat(900) });
    await client.nextOf('ack', { id: 'long' });
    client.send({ type: 'hello' });
    expect(await client.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_MESSAGE_INVALID' });

    client.send({ type: 'ping' });
    await client.nextOf('pong');
  });

  it('lets ws close with 1009 a frame past its hard ceiling', async () => {
    const { url } = await serve({ maxPayload: 1024 });
    const client = await connect(url);
    client.ws.send('x'.repeat(70 * 1024));

    expect(await client.closed).toMatchObject({ code: 1009 });
  });

  it('refuses text longer than maxTextLength', async () => {
    const { url } = await serve({ maxTextLength: 10 });
    const client = await connect(url);
    await client.hello();
    client.send({ type: 'message', id: 'long', text: 'x'.repeat(11) });

    expect(await client.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_MESSAGE_INVALID', id: 'long' });
  });

  it('closes with 1008 once bad frames pass maxStrikes', async () => {
    const { url, server } = await serve({ maxStrikes: 3 });
    const client = await connect(url);
    const dropped = nextEvent(server, 'connection.drop');

    for (let i = 0; i < 4; i++) client.ws.send('nope');

    expect(await client.closed).toMatchObject({ code: 1008 });
    expect(await dropped).toMatchObject({ reason: 'abuse' });
  });
});

describe('rate limit', () => {
  it('refuses messages past the bucket and stays open', async () => {
    const { url } = await serve({ rateLimit: { perSecond: 0.001, burst: 3 } });
    const client = await connect(url);
    client.send({ type: 'hello' });
    for (let i = 0; i < 4; i++) client.send({ type: 'message', id: `r${i}`, text: 'echo x' });

    expect(await client.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_RATE_LIMITED' });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    await client.nextOf('ack', { id: 'r1' });
    expect(client.frames.some((f) => f.id === 'r2' || f.id === 'r3')).toBe(false);
  });
});

describe('heartbeat', () => {
  it('terminates a connection that misses its pong and keeps one that answers', async () => {
    const { url, server } = await serve({ heartbeatIntervalMs: 100 });
    const quiet = await connect(url, { autoPong: false });
    const lively = await connect(url);
    await quiet.hello();
    await lively.hello();
    const dropped = nextEvent(server, 'connection.drop');

    expect(await dropped).toMatchObject({ reason: 'heartbeat' });
    await quiet.closed;
    expect(lively.ws.readyState).toBe(lively.ws.OPEN);
    expect(server.stats().drops).toBe(1);
  });
});

describe('hello timeout', () => {
  it('sends an error and closes a socket that never says hello', async () => {
    const { url } = await serve({ helloTimeoutMs: 50 });
    const client = await connect(url);

    expect(await client.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_HELLO_TIMEOUT' });
    expect(await client.closed).toMatchObject({ code: 1008 });
  });
});

describe('slow consumer', () => {
  it('closes a reader that falls behind with 1013 and replays its backlog on resume', async () => {
    const { url, server } = await serve({
      maxBufferedBytes: 256 * 1024,
      historySize: 1_000,
      rateLimit: { perSecond: 1_000, burst: 1_000 },
    });
    const slow = await connect(url);
    const welcome = await slow.hello();
    const fast = await connect(url);
    await fast.hello({ token: welcome.token });
    slow.ws.pause();

    const dropped = nextEvent(server, 'connection.drop');
    let isDropped = false;
    void dropped.then(() => (isDropped = true));
    let sent = 0;
    while (!isDropped && sent < 400) {
      fast.send({ type: 'message', id: `s${sent}`, text: 'big 200000' });
      await fast.nextOf('message', { replyTo: `s${sent}` });
      sent += 1;
    }
    fast.send({ type: 'message', id: 'after', text: 'echo after' });
    const last = await fast.nextOf('message', { replyTo: 'after' });

    expect(await dropped).toMatchObject({ reason: 'slow_consumer', sessionId: welcome.sessionId });
    slow.ws.resume();
    expect(await slow.closed).toMatchObject({ code: 1013 });

    const seen = slow.seqs();
    const back = await connect(url);
    await back.hello({ token: welcome.token, lastSeq: seen.length === 0 ? 0 : Math.max(...seen) });
    await back.next((f) => f.seq === last.seq);

    const all = [...seen, ...back.seqs()];
    expect(all).toEqual(Array.from({ length: Number(last.seq) }, (_, i) => i + 1));
  });
});

describe('handshake limits', () => {
  it('refuses an Origin outside the allowlist with 403', async () => {
    const { url, server } = await serve({ origins: ['https://shop.example'] });
    const refused = nextEvent(server, 'connection.refused');

    await expect(TestClient.open(url, { origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
    expect(await refused).toMatchObject({ code: 'TRANSPORT_WS_ORIGIN_REFUSED', status: 403 });
    await connect(url, { origin: 'https://shop.example' });
  });

  it('refuses connections past the per-IP cap with 429 and past the global cap with 503', async () => {
    const perIp = await serve({ maxConnectionsPerIp: 2 });
    await connect(perIp.url);
    await connect(perIp.url);
    const refused = nextEvent(perIp.server, 'connection.refused');
    await expect(TestClient.open(perIp.url)).rejects.toMatchObject({ status: 429 });
    expect(await refused).toMatchObject({ code: 'TRANSPORT_WS_TOO_MANY_CONNECTIONS' });

    const global = await serve({ maxConnections: 1 });
    await connect(global.url);
    await expect(TestClient.open(global.url)).rejects.toMatchObject({ status: 503 });
    expect(global.server.stats()).toMatchObject({ connections: 1, refused: 1 });
  });
});

describe('attached to a host http.Server', () => {
  it('handles upgrades on its path and leaves the server to the host', async () => {
    const http = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const server = await createChatServer({ engine: harness.engine, server: http, path: '/chat' });

    const client = await connect(`ws://127.0.0.1:${port}/chat`);
    expect(await client.hello()).toMatchObject({ type: 'welcome' });
    await expect(TestClient.open(`ws://127.0.0.1:${port}/other`)).rejects.toMatchObject({ status: 404 });

    await server.close();
    expect(await client.closed).toMatchObject({ code: 1012 });
    expect(http.listening).toBe(true);
    await new Promise((resolve) => http.close(resolve));
  });
});

describe('engine failures', () => {
  it('answers a turn the engine rejects with TRANSPORT_WS_ENGINE_FAILED', async () => {
    const broken = Object.create(harness.engine) as Engine;
    broken.handle = () => Promise.reject(new Error('boom'));
    const running = await serve({}, broken);
    const failed = nextEvent(running.server, 'error');

    const client = await connect(running.url);
    await client.hello();
    client.send({ type: 'message', id: 'f1', text: 'hello' });

    expect(await client.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_ENGINE_FAILED', id: 'f1' });
    expect(await failed).toHaveProperty('sessionId');
  });
});

describe('close()', () => {
  it('answers turns in flight, closes clients with 1012 and refuses new ones', async () => {
    const { url, server } = await serve();
    const client = await connect(url);
    await client.hello();
    client.send({ type: 'message', id: 'c1', text: 'hello' });
    await client.nextOf('ack');

    const closing = server.close();
    const closed = await client.closed;
    await closing;

    expect(closed.code).toBe(1012);
    expect(client.frames.some((f) => f.replyTo === 'c1')).toBe(true);
    await expect(TestClient.open(url)).rejects.toBeDefined();
    expect(() => server.issueAgentToken('late')).toThrow(expect.objectContaining({ code: 'TRANSPORT_WS_CLOSED' }));
  });
});

describe('createChatServer()', () => {
  it('rejects bad options with TRANSPORT_WS_OPTIONS_INVALID', async () => {
    const attempts = [
      createChatServer({ engine: {} as Engine }),
      createChatServer({ engine: harness.engine, port: 0, secret: 'short' }),
      createChatServer({ engine: harness.engine, port: 0, path: 'no-slash' }),
    ];

    for (const attempt of attempts) {
      const error = await attempt.catch((e: unknown) => e);
      expect(isKefuError(error, 'TRANSPORT_WS_OPTIONS_INVALID')).toBe(true);
    }
  });
});
