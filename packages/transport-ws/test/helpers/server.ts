import type { Engine } from '@kefu/core';
import { createChatServer, type ChatServer, type ChatServerOptions } from '../../src/index.js';

/** A chat server on an ephemeral loopback port, with its ws:// URL. */
export interface Running {
  server: ChatServer;
  url: string;
}

export async function startServer(
  engine: Engine,
  options: Partial<ChatServerOptions> = {},
): Promise<Running> {
  const server = await createChatServer({ engine, port: 0, host: '127.0.0.1', ...options });
  const address = server.address();
  if (address === null) throw new Error('the server has no address');

  return { server, url: `ws://127.0.0.1:${address.port}${options.path ?? '/ws'}` };
}

/** Resolves with the payload of the next `event` of `server` that matches. */
export function nextEvent<E extends Parameters<ChatServer['once']>[0]>(
  server: ChatServer,
  event: E,
  predicate: (payload: never) => boolean = () => true,
): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const listener = (payload: never): void => {
      if (!predicate(payload)) return;
      server.off(event, listener as never);
      resolve(payload as Record<string, unknown>);
    };
    server.on(event, listener as never);
  });
}
