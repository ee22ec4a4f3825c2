import type { Engine } from '@kefu/core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ClientOptions } from 'ws';
import { TestClient } from './client.js';
import { startEngine, type TestEngine } from './engine.js';
import { startServer, type Running } from './server.js';

/** What a test file gets from {@link useChatHarness}. */
export interface ChatHarness {
  /** The real engine the file's servers share (set once `beforeAll` ran). */
  readonly engine: Engine;
  /**
   * A chat server on a loopback port, on the harness engine unless given
   * one; closed after each test.
   */
  serve(options?: Parameters<typeof startServer>[1], engine?: Engine): Promise<Running>;
  /** A client of `url`, closed after each test. */
  connect(url: string, options?: ClientOptions): Promise<TestClient>;
}

/**
 * Registers the hooks of a test file that talks to chat servers: one engine
 * for the file, and every server and client closed after each test.
 */
export function useChatHarness(): ChatHarness {
  let kit: TestEngine | undefined;
  const servers: Running[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    kit = await startEngine();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((r) => r.server.close()));
  });

  afterAll(async () => {
    await kit?.dispose();
  });

  const engine = (): Engine => {
    if (kit === undefined) throw new Error('the harness engine starts in beforeAll');
    return kit.engine;
  };

  return {
    get engine() {
      return engine();
    },
    async serve(options = {}, on = engine()) {
      const running = await startServer(on, options);
      servers.push(running);
      return running;
    },
    async connect(url, options = {}) {
      const client = await TestClient.open(url, options);
      clients.push(client);
      return client;
    },
  };
}
