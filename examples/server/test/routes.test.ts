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

  it('answers /readyz with 503 while draining', async () => {
    const url = await serve({ isReady: true }, false);

    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });
});
