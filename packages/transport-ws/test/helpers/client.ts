import { WebSocket, type ClientOptions } from 'ws';

/** A frame as the tests see it. */
export type Frame = Record<string, unknown> & { type: string };

interface Waiter {
  predicate: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
}

/**
 * A test client that records every frame and lets a test await the first
 * frame matching a predicate, without sleeping.
 */
export class TestClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Waiter[] = [];
  #taken = new Set<Frame>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((w) => {
        if (this.#taken.has(frame) || !w.predicate(frame)) return true;
        this.#taken.add(frame);
        w.resolve(frame);
        return false;
      });
    });
  }

  /** Opens a connection; rejects with the HTTP status when the handshake is refused. */
  static open(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const client = new TestClient(ws);

    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode }));
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /**
   * The first frame, received before or after the call, that matches and
   * was not handed to an earlier call. Rejects after `timeoutMs`.
   */
  next(predicate: (frame: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const found = this.frames.find((f) => !this.#taken.has(f) && predicate(f));
    if (found !== undefined) {
      this.#taken.add(found);
      return Promise.resolve(found);
    }

    return new Promise((resolve, reject) => {
      const waiter: Waiter = { predicate, resolve };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        const got = this.frames.map((f) => `${f.type}${typeof f.seq === 'number' ? `#${f.seq}` : ''}`);
        reject(new Error(`no matching frame in ${timeoutMs} ms; got ${got.join(' ')}`));
      }, timeoutMs);
      waiter.resolve = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.#waiters.push(waiter);
    });
  }

  /** The next frame of `type` (and, optionally, matching `where`). */
  nextOf(type: string, where: Record<string, unknown> = {}, timeoutMs?: number): Promise<Frame> {
    return this.next(
      (f) => f.type === type && Object.entries(where).every(([k, v]) => f[k] === v),
      timeoutMs,
    );
  }

  /** Says hello as a visitor and returns the welcome. */
  async hello(extra: Record<string, unknown> = {}): Promise<Frame> {
    this.send({ type: 'hello', role: 'visitor', ...extra });
    return this.next((f) => f.type === 'welcome' || f.type === 'error');
  }

  /** Seqs of the sequenced frames received, in arrival order (acks included). */
  seqs(): number[] {
    return this.frames.flatMap((f) => (typeof f.seq === 'number' && f.type !== 'welcome' ? [f.seq] : []));
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close();
    }
    return this.closed;
  }
}
