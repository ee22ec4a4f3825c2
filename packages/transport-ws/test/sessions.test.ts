import type { Logger } from '@kefu/core';
import { describe, expect, it } from 'vitest';
import { useChatHarness } from './helpers/harness.js';
import { nextEvent } from './helpers/server.js';

const harness = useChatHarness();
const { serve, connect } = harness;

describe('session lifetime', () => {
  it('forgets a session without sockets after sessionIdleMs and resumes it with fresh numbering', async () => {
    const { url, server } = await serve({ sessionIdleMs: 1 });
    const client = await connect(url);
    const welcome = await client.hello();
    client.send({ type: 'message', id: 'a', text: 'echo a' });
    await client.nextOf('message', { replyTo: 'a' });

    const ended = nextEvent(server, 'session.end');
    await client.close();
    expect(await ended).toEqual({ sessionId: welcome.sessionId });

    const again = await connect(url);
    const back = await again.hello({ token: welcome.token, lastSeq: 2 });
    expect(back).toMatchObject({ sessionId: welcome.sessionId, seq: 2, resumed: false });
    again.send({ type: 'message', id: 'b', text: 'echo b' });
    expect(await again.nextOf('ack')).toMatchObject({ id: 'b', seq: 3 });
  });

  it('accepts a host token through verifyVisitor', async () => {
    const { url } = await serve({
      verifyVisitor: async (token) => (token === 'host-login-42' ? { sessionId: 'customer-42' } : null),
    });
    const client = await connect(url);

    expect(await client.hello({ token: 'host-login-42' })).toMatchObject({
      type: 'welcome',
      sessionId: 'customer-42',
    });
    const stranger = await connect(url);
    expect(await stranger.hello({ token: 'host-login-43' })).toMatchObject({
      code: 'TRANSPORT_WS_TOKEN_INVALID',
    });
  });

  it('lets a client whose token was refused start a new session on the same socket', async () => {
    const { url } = await serve();
    const client = await connect(url);

    expect(await client.hello({ token: 'garbage' })).toMatchObject({ code: 'TRANSPORT_WS_TOKEN_INVALID' });
    expect(await client.hello()).toMatchObject({ type: 'welcome', seq: 0 });
  });

  it('counts connections, messages and resumes', async () => {
    const { url, server } = await serve();
    const client = await connect(url);
    const welcome = await client.hello();
    client.send({ type: 'message', id: 'n', text: 'hello' });
    await client.nextOf('message', { replyTo: 'n' });
    const again = await connect(url);
    await again.hello({ token: welcome.token, lastSeq: 2 });

    expect(server.stats()).toMatchObject({
      connections: 2,
      visitors: 2,
      sessions: 1,
      accepted: 2,
      messagesIn: 1,
      resumes: 1,
    });
    expect(server.stats().messagesOut).toBeGreaterThanOrEqual(3);
  });
});

describe('observability', () => {
  it('logs and emits with the connection, session and trace ids of a turn', async () => {
    const lines: Record<string, unknown>[] = [];
    const record = (fields: Record<string, unknown> | string): void => {
      if (typeof fields === 'object') lines.push(fields);
    };
    const logger: Logger = { debug: record, info: record, warn: record, error: record, child: () => logger };
    const { url, server } = await serve({ logger });
    const outs: Record<string, unknown>[] = [];
    server.on('message.out', (event) => outs.push(event));
    const received = nextEvent(server, 'message.in');

    const client = await connect(url);
    const { sessionId } = await client.hello();
    client.send({ type: 'message', id: 'o1', text: 'hello' });
    const reply = await client.nextOf('message', { replyTo: 'o1' });
    const event = await received;

    expect(event).toMatchObject({ sessionId, from: 'visitor', id: 'o1', traceId: reply.traceId });
    expect(outs).toEqual([
      expect.objectContaining({ sessionId, seq: 1, from: 'visitor', traceId: reply.traceId }),
      expect.objectContaining({ sessionId, seq: 2, from: 'bot', traceId: reply.traceId }),
    ]);
    expect(lines).toContainEqual(
      expect.objectContaining({ connectionId: expect.any(Number), sessionId, traceId: reply.traceId }),
    );
    expect(lines.some((l) => 'text' in l)).toBe(false);
  });
});
