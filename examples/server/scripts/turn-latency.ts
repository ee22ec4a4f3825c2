// Round-trip time of bot turns through the whole example server: a visitor
// message over /ws, the engine (NLU, plugins) and the reply frame. Bounded
// and on loopback: `turns` sequential turns, 10 per visitor connection (the
// live chat's rate limit allows a burst of 20 frames per connection).
//
//   node --conditions=@kefu/source --import tsx examples/server/scripts/turn-latency.ts [turns]
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

const TURNS = Math.min(Number(process.argv[2] ?? 500), 10_000);
const PER_VISITOR = 10;
const TEXTS = ['where is my order', 'how do refunds work', '运费多少', 'hello', 'are you open now'];

type Frame = { type: string; from?: string };

const config = loadConfig({ env: {}, overrides: { port: 0, watch: false, logLevel: 'silent' } });
const server = await startServer(config, { logger: pino({ level: 'silent' }) });

await server.ready;

/** A visitor that resolves one waiter per welcome or bot reply. */
async function visitor(): Promise<{ next(frame: object): Promise<Frame>; close(): void }> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  const waiters: ((frame: Frame) => void)[] = [];

  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;

    if (frame.type === 'error') throw new Error(`error frame: ${String(data)}`);
    if (frame.type === 'welcome' || (frame.type === 'message' && frame.from === 'bot')) {
      waiters.shift()?.(frame);
    }
  });
  await new Promise((done) => ws.once('open', done));

  return {
    next(frame) {
      const reply = new Promise<Frame>((done, fail) => {
        const timer = setTimeout(() => fail(new Error('no reply within 5 s')), 5_000);

        waiters.push((f) => {
          clearTimeout(timer);
          done(f);
        });
      });

      ws.send(JSON.stringify(frame));
      return reply;
    },
    close: () => ws.close(),
  };
}

const times: number[] = [];

while (times.length < TURNS) {
  const v = await visitor();

  await v.next({ type: 'hello', role: 'visitor' });
  for (let i = 0; i < PER_VISITOR && times.length < TURNS; i += 1) {
    const t0 = performance.now();

    await v.next({ type: 'message', id: `m${i}`, text: TEXTS[times.length % TEXTS.length] });
    times.push(performance.now() - t0);
  }
  v.close();
}

times.sort((a, b) => a - b);

const at = (q: number): string => (times[Math.floor(q * (times.length - 1))] ?? 0).toFixed(2);

process.stdout.write(`${TURNS} turns: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms\n`);
await server.close();
