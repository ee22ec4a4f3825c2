export { ChatServer, createChatServer } from './chat-server.js';
export type { ChatServerOptions, VisitorIdentity } from './options.js';
export type { ChatServerEvents, ChatServerStats, DropReason } from './events.js';
export { TokenSigner } from './token.js';
export type { TokenClaims } from './token.js';
export type {
  AgentInfo,
  ClientFrame,
  MessageFrom,
  QueueEntry,
  ServerMessageFrame,
} from './protocol.js';
