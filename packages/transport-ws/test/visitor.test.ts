import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigner } from '../src/index.js';
import { TestClient, type Frame } from './helpers/client.js';
import { startEngine, type TestEngine } from './helpers/engine.js';
import { nextEvent, startServer, type Running } from './helpers/server.js';

let kit: TestEngine;
let running: Running;
const clients: TestClient[] = [];

async function connect(url = running.url): Promise<TestClient> {
  const client = await TestClient.open(url);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  kit = await startEngine();
  running = await startServer(kit.engine);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await running.server.close();
  await kit.dispose();
});

describe('visitor turn', () => {
  it('welcomes, acknowledges and answers through the engine', async () => {
    const client = await connect();
    const welcome = await client.hello();

    expect(welcome).toMatchObject({ type: 'welcome', seq: 0 });
    expect(typeof welcome.sessionId).toBe('string');
    expect(typeof welcome.token).toBe('string');

    client.send({ type: 'message', id: 'm1', text: 'hello' });
    const ack = await client.nextOf('ack');
    const reply = await client.nextOf('message', { from: 'bot' });

    expect(ack).toEqual({ type: 'ack', id: 'm1', seq: 1 });
    expect(reply).toMatchObject({
      seq: 2,
      from: 'bot',
      intent: 'greet',
      replyTo: 'm1',
      text: 'Hello! How can I help?',
      quickReplies: ['Orders', 'A human'],
    });
    expect(typeof reply.traceId).toBe('string');
  });

  it('keeps acks and replies in the order the messages came', async () => {
    const client = await connect();
    await client.hello();

    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const id of ids) client.send({ type: 'message', id, text: `echo ${id}` });
    const replies: Frame[] = [];
    for (const id of ids) replies.push(await client.nextOf('message', { replyTo: id }));

    const acks = client.frames.filter((f) => f.type === 'ack').map((f) => f.id);
    expect(acks).toEqual(ids);
    expect(replies.map((r) => r.text)).toEqual(ids.map((id) => `echo: echo ${id}`));
    expect(client.seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('answers a repeated id with the first ack and handles it once', async () => {
    const client = await connect();
    await client.hello();

    client.send({ type: 'message', id: 'same', text: 'echo one' });
    const first = await client.nextOf('ack');
    client.send({ type: 'message', id: 'same', text: 'echo one' });
    const second = await client.nextOf('ack');
    client.send({ type: 'message', id: 'other', text: 'echo two' });
    await client.nextOf('message', { replyTo: 'other' });

    expect(second).toMatchObject({ id: 'same', seq: first.seq, duplicate: true });
    expect(client.frames.filter((f) => f.type === 'message' && f.replyTo === 'same')).toHaveLength(1);
    expect(running.server.stats().duplicates).toBeGreaterThanOrEqual(1);
  });
});

describe('resume', () => {
  it('replays what a dropped connection missed, once and in order', async () => {
    const first = await connect();
    const welcome = await first.hello();
    first.send({ type: 'message', id: 'r1', text: 'hello' });
    await first.nextOf('message', { replyTo: 'r1' });

    // A second tab keeps talking while the first one is gone.
    const tab = await connect();
    await tab.hello({ token: welcome.token, lastSeq: 2 });
    first.ws.terminate();
    await first.closed;
    for (const id of ['r2', 'r3', 'r4']) {
      tab.send({ type: 'message', id, text: `echo ${id}` });
      await tab.nextOf('message', { replyTo: id });
    }

    const seen = first.seqs();
    const again = await connect();
    const resumed = nextEvent(running.server, 'session.resume');
    const back = await again.hello({ token: welcome.token, lastSeq: Math.max(...seen) });
    await again.nextOf('message', { replyTo: 'r4' });

    expect(back).toMatchObject({ type: 'welcome', sessionId: welcome.sessionId, seq: 8, resumed: true });
    expect(await resumed).toMatchObject({ sessionId: welcome.sessionId, replayed: 6 });
    const all = [...seen, ...again.seqs()];
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const replayed = again.frames.filter((f) => f.type === 'message');
    expect(replayed.filter((f) => f.from === 'visitor').map((f) => f.id)).toEqual(['r2', 'r3', 'r4']);
  });

  it('says how many frames are gone when the ring no longer holds them', async () => {
    const small = await startServer(kit.engine, { historySize: 2 });
    const client = await connect(small.url);
    const welcome = await client.hello();
    client.send({ type: 'message', id: 'x', text: 'echo x' });
    await client.nextOf('message', { replyTo: 'x' });
    client.send({ type: 'message', id: 'y', text: 'echo y' });
    await client.nextOf('message', { replyTo: 'y' });

    const again = await connect(small.url);
    const back = await again.hello({ token: welcome.token, lastSeq: 0 });
    await again.nextOf('message', { replyTo: 'y' });

    expect(back).toMatchObject({ seq: 4, missed: 2 });
    expect(again.seqs()).toEqual([3, 4]);
    await small.server.close();
  });
});

describe('tabs', () => {
  it('sends every message of a session to each of its sockets', async () => {
    const one = await connect();
    const welcome = await one.hello();
    const two = await connect();
    await two.hello({ token: welcome.token });

    one.send({ type: 'message', id: 't1', text: 'echo from one' });
    await one.nextOf('message', { replyTo: 't1' });
    two.send({ type: 'message', id: 't2', text: 'echo from two' });
    await one.nextOf('message', { replyTo: 't2' });
    await two.nextOf('message', { replyTo: 't2' });
    await two.nextOf('message', { replyTo: 't1' });

    expect(one.seqs()).toEqual([1, 2, 3, 4]);
    expect(two.seqs()).toEqual([1, 2, 3, 4]);
    expect(two.frames.find((f) => f.seq === 1)).toMatchObject({ type: 'message', from: 'visitor', id: 't1' });
    expect(one.frames.find((f) => f.seq === 3)).toMatchObject({ type: 'message', from: 'visitor', id: 't2' });
  });

  it('passes ids and texts with quotes, escapes and any script through unchanged', async () => {
    const one = await connect();
    const welcome = await one.hello();
    const two = await connect();
    await two.hello({ token: welcome.token });
    const id = 'q"\\1\u2028';
    const text = 'echo "quoted" \\ back\nslash </script> 你好 \u{1F600}';

    one.send({ type: 'message', id, text });
    const reply = await one.nextOf('message', { replyTo: id });
    const seen = await two.nextOf('message', { id });

    expect(reply).toMatchObject({ from: 'bot', intent: 'echo', text: `echo: ${text}` });
    expect(seen).toEqual({ type: 'message', seq: 1, from: 'visitor', id, text, traceId: reply.traceId, at: seen.at });
    expect(typeof seen.at).toBe('number');
  });
});

describe('tokens', () => {
  it('refuses a token whose signature was tampered with', async () => {
    const client = await connect();
    const welcome = await client.hello();
    const token = String(welcome.token);
    const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;

    const other = await connect();
    const answer = await other.hello({ token: forged });

    expect(answer).toMatchObject({ type: 'error', code: 'TRANSPORT_WS_TOKEN_INVALID' });
  });

  it('refuses a token signed with another secret for an existing session', async () => {
    const client = await connect();
    const welcome = await client.hello();
    const stranger = new TokenSigner('another-secret-of-16+chars');
    const token = stranger.sign({ sessionId: String(welcome.sessionId), role: 'visitor', exp: Date.now() + 60_000 });

    const other = await connect();
    const answer = await other.hello({ token });

    expect(answer).toMatchObject({ type: 'error', code: 'TRANSPORT_WS_TOKEN_INVALID' });
    expect(other.frames.some((f) => f.type === 'welcome')).toBe(false);
  });

  it('resumes only the session the token names', async () => {
    const a = await connect();
    const b = await connect();
    const wa = await a.hello();
    const wb = await b.hello();
    b.send({ type: 'message', id: 'secret', text: 'echo private' });
    await b.nextOf('message', { replyTo: 'secret' });

    const c = await connect();
    const wc = await c.hello({ token: wa.token, lastSeq: 0 });

    expect(wc.sessionId).toBe(wa.sessionId);
    expect(wc.sessionId).not.toBe(wb.sessionId);
    expect(c.frames.some((f) => f.type === 'message')).toBe(false);
  });

  it('refuses an agent token for a visitor hello', async () => {
    const client = await connect();
    const answer = await client.hello({ token: running.server.issueAgentToken('ann') });

    expect(answer).toMatchObject({ type: 'error', code: 'TRANSPORT_WS_TOKEN_INVALID' });
  });
});
