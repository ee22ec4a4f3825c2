import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Engine } from '@kefu/core';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createRequestHandler } from '../src/routes.js';
import { EXAMPLES } from './helpers.js';

describe('createRequestHandler()', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise((done) => server?.close(done));
  });

  async function serve(engine: Partial<Engine>, isAccepting = true): Promise<string> {
    server = createServer(
      createRequestHandler({
        engine: engine as Engine,
        metrics: new Registry(),
        publicDir: join(EXAMPLES, 'server/public'),
        logger: pino({ level: 'silent' }),
        isAccepting: () => isAccepting,
        isAgentToken: (token) => token === 'agent-secret',
      }),
    );
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));

    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('answers /readyz with 503 until the NLU has trained', async () => {
    const url = await serve({ isReady: false });
    const res = await fetch(`${url}/readyz`);

    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'starting' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  describe('GET /api/conversations/:sessionId', () => {
    const engine: Partial<Engine> = {
      isReady: true,
      getSession: async (id: string) =>
        id === 'known'
          ? {
              id,
              createdAt: 0,
              updatedAt: 0,
              turns: 1,
              lastIntent: 'order.status',
              slots: { orderId: '12345678' },
              history: [
                { from: 'visitor', text: 'where is my order', at: 1, traceId: 't' },
                { from: 'bot', text: 'Your order number?', at: 2, intent: 'order.status' },
              ],
            }
          : undefined,
    };

    it('gives an agent the session history, without slots or trace ids', async () => {
      const url = await serve(engine);
      const res = await fetch(`${url}/api/conversations/known`, {
        headers: { authorization: 'Bearer agent-secret' },
      });

      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        sessionId: 'known',
        turns: 1,
        lastIntent: 'order.status',
        history: [
          { from: 'visitor', text: 'where is my order', at: 1 },
          { from: 'bot', text: 'Your order number?', at: 2, intent: 'order.status' },
        ],
      });
    });

    it('refuses a request without the agent token', async () => {
      const url = await serve(engine);
      const anonymous = await fetch(`${url}/api/conversations/known`);
      const wrong = await fetch(`${url}/api/conversations/known`, {
        headers: { authorization: 'Bearer guess' },
      });

      expect(anonymous.status).toBe(401);
      expect(wrong.status).toBe(401);
    });

    it('answers 404 for an unknown session', async () => {
      const url = await serve(engine);
      const res = await fetch(`${url}/api/conversations/nobody`, {
        headers: { authorization: 'Bearer agent-secret' },
      });

      expect(res.status).toBe(404);
    });
  });

  it('answers /readyz with 503 while draining', async () => {
    const url = await serve({ isReady: true }, false);

    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });
});
