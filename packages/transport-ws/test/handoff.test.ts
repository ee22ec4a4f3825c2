import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client.js';
import { startEngine, type TestEngine } from './helpers/engine.js';
import { nextEvent, startServer, type Running } from './helpers/server.js';

let kit: TestEngine;
let running: Running;
const clients: TestClient[] = [];

async function connect(): Promise<TestClient> {
  const client = await TestClient.open(running.url);
  clients.push(client);
  return client;
}

async function agent(id: string): Promise<TestClient> {
  const client = await connect();
  client.send({ type: 'hello', role: 'agent', token: running.server.issueAgentToken(id), name: id });
  await client.nextOf('welcome');
  return client;
}

beforeAll(async () => {
  kit = await startEngine();
  running = await startServer(kit.engine, { agentSecret: 'team-secret' });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await running.server.close();
  await kit.dispose();
});

describe('human handoff', () => {
  it('queues, joins, relays both ways and gives the session back to the bot', async () => {
    const ann = await agent('ann');
    const bob = await agent('bob');
    const visitor = await connect();
    const { sessionId } = await visitor.hello();

    const waiting = nextEvent(running.server, 'session.waiting');
    visitor.send({ type: 'message', id: 'h1', text: 'a real person please' });
    const botReply = await visitor.nextOf('message', { replyTo: 'h1' });
    await visitor.nextOf('waiting');
    expect(botReply.actions).toEqual([{ type: 'handoff', reason: 'asked' }]);
    expect(await waiting).toMatchObject({ sessionId, reason: 'asked' });

    const isListed = (f: Record<string, unknown>): boolean =>
      f.type === 'queue' && (f.sessions as { sessionId: string }[]).some((s) => s.sessionId === sessionId);
    const [annQueue] = await Promise.all([ann.next(isListed), bob.next(isListed)]);
    expect(annQueue.sessions).toEqual([
      expect.objectContaining({ sessionId, reason: 'asked', preview: 'a real person please' }),
    ]);

    ann.send({ type: 'join', sessionId });
    const joined = await ann.nextOf('joined', { sessionId });
    expect(Array.isArray(joined.history)).toBe(true);
    expect(await visitor.nextOf('agent.joined')).toMatchObject({ agent: { id: 'ann', name: 'ann' } });
    await bob.next((f) => f.type === 'queue' && (f.sessions as unknown[]).length === 0);

    bob.send({ type: 'join', sessionId });
    expect(await bob.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_SESSION_TAKEN' });
    bob.send({ type: 'message', id: 'b1', sessionId, text: 'me too' });
    expect(await bob.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_NOT_JOINED', id: 'b1' });

    visitor.send({ type: 'message', id: 'v2', text: 'hello?' });
    await visitor.nextOf('ack', { id: 'v2' });
    expect(await ann.nextOf('message', { id: 'v2' })).toMatchObject({ sessionId, from: 'visitor', text: 'hello?' });

    ann.send({ type: 'typing', sessionId });
    expect(await visitor.nextOf('typing')).toMatchObject({ from: 'agent', isTyping: true });
    ann.send({ type: 'message', id: 'a1', sessionId, text: 'Hi, Ann here.' });
    expect(await ann.nextOf('ack', { id: 'a1' })).toMatchObject({ sessionId });
    expect(await visitor.nextOf('message', { from: 'agent' })).toMatchObject({
      text: 'Hi, Ann here.',
      agent: { id: 'ann', name: 'ann' },
    });

    const session = await kit.engine.getSession(String(sessionId));
    expect(session?.history.some((h) => h.from === 'agent' && h.text === 'Hi, Ann here.')).toBe(true);

    ann.send({ type: 'leave', sessionId });
    await ann.nextOf('left', { sessionId });
    expect(await visitor.nextOf('agent.left')).toMatchObject({ agent: { id: 'ann' } });

    visitor.send({ type: 'message', id: 'v3', text: 'hello' });
    expect(await visitor.nextOf('message', { replyTo: 'v3' })).toMatchObject({ from: 'bot', intent: 'greet' });
    expect(visitor.frames.some((f) => f.replyTo === 'v2')).toBe(false);
  });

  it('answers an agent message sent twice with its first ack', async () => {
    const ann = await agent('ann');
    const visitor = await connect();
    const { sessionId } = await visitor.hello();
    ann.send({ type: 'join', sessionId });
    await ann.nextOf('joined');

    ann.send({ type: 'message', id: 'same', sessionId, text: 'once' });
    const first = await ann.nextOf('ack', { id: 'same' });
    ann.send({ type: 'message', id: 'same', sessionId, text: 'once' });
    const second = await ann.nextOf('ack', { id: 'same' });
    ann.send({ type: 'message', id: 'next', sessionId, text: 'twice?' });
    await visitor.nextOf('message', { text: 'twice?' });

    expect(second).toMatchObject({ seq: first.seq, duplicate: true });
    expect(visitor.frames.filter((f) => f.type === 'message' && f.text === 'once')).toHaveLength(1);
  });

  it('gives a session back to the bot when its agent disconnects', async () => {
    const ann = await agent('ann');
    const visitor = await connect();
    const { sessionId } = await visitor.hello();
    visitor.send({ type: 'handoff' });
    await visitor.nextOf('waiting', { reason: 'visitor' });

    ann.send({ type: 'join', sessionId });
    await visitor.nextOf('agent.joined');
    const left = nextEvent(running.server, 'agent.left');
    ann.ws.terminate();

    expect(await left).toMatchObject({ sessionId, agentId: 'ann', reason: 'disconnect' });
    await visitor.nextOf('agent.left');
  });

  it('accepts the shared agent secret', async () => {
    const client = await connect();
    client.send({ type: 'hello', role: 'agent', token: 'team-secret', name: 'cy' });

    expect(await client.nextOf('welcome')).toMatchObject({ role: 'agent', agent: { id: 'cy' }, queue: [] });
  });

  it('refuses agents with a wrong secret or a visitor token', async () => {
    const visitor = await connect();
    const { token } = await visitor.hello();
    const a = await connect();
    const b = await connect();
    a.send({ type: 'hello', role: 'agent', token: 'team-secreT' });
    b.send({ type: 'hello', role: 'agent', token });

    expect(await a.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_UNAUTHORIZED' });
    expect(await b.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_UNAUTHORIZED' });
  });

  it('keeps agent actions from visitors and unknown sessions from agents', async () => {
    const visitor = await connect();
    await visitor.hello();
    visitor.send({ type: 'join', sessionId: 'whatever' });
    expect(await visitor.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_UNAUTHORIZED' });

    const ann = await agent('ann');
    ann.send({ type: 'join', sessionId: 'no-such-session' });
    expect(await ann.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_SESSION_NOT_FOUND' });
    ann.send({ type: 'leave', sessionId: 'no-such-session' });
    expect(await ann.nextOf('error', { code: 'TRANSPORT_WS_NOT_JOINED' })).toBeDefined();
    ann.send({ type: 'handoff' });
    expect(await ann.nextOf('error', { code: 'TRANSPORT_WS_UNAUTHORIZED' })).toBeDefined();
  });

  it('uses a verifyAgent hook when one is given', async () => {
    const hooked = await startServer(kit.engine, {
      verifyAgent: (token) => (token === 'let-me-in' ? { id: 'dee' } : null),
    });
    const yes = await TestClient.open(hooked.url);
    const no = await TestClient.open(hooked.url);
    yes.send({ type: 'hello', role: 'agent', token: 'let-me-in' });
    no.send({ type: 'hello', role: 'agent', token: hooked.server.issueAgentToken('eve') });

    expect(await yes.nextOf('welcome')).toMatchObject({ agent: { id: 'dee' } });
    expect(await no.nextOf('error')).toMatchObject({ code: 'TRANSPORT_WS_UNAUTHORIZED' });
    await Promise.all([yes.close(), no.close()]);
    await hooked.server.close();
  });
});
