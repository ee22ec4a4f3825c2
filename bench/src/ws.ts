// Benchmark section `ws`: the Kefu live chat against a bare `ws` echo server,
// both measured in this run. The section process only orchestrates: each
// server and each group of clients is a child process of this same file
// (picked by KEFU_WS_BENCH_ROLE), so a server's RSS holds nothing but the
// server, and 19,000 client sockets are split under the 20,000 open-files
// limit per process. Everything runs on loopback and every loop is bounded
// in count and time; children exit when this process goes away.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createEngine, type IntentScore, type NluProvider, type TrainingExample } from '@kefu/core';
import { createChatServer } from '@kefu/transport-ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { BenchContext, BenchFigure, BenchSection } from './types.js';

type Kind = 'kefu' | 'bare';

type WsSocket = WebSocket;
type WsServer = WebSocketServer;
type Msg = Record<string, unknown> & { type: string };

const HERE = fileURLToPath(import.meta.url);
const ROLE = process.env.KEFU_WS_BENCH_ROLE;

// ---- shared helpers ---------------------------------------------------------

function send(msg: Msg): void {
  process.send?.(msg);
}

/** The next IPC message of `type` from `child`, or a rejection after `ms`. */
function expectMessage(child: ChildProcess, type: string, ms: number): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no "${type}" from child ${child.pid} in ${ms} ms`));
    }, ms);
    const onMessage = (msg: Msg): void => {
      if (msg.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(msg);
    };
    child.on('message', onMessage);
  });
}

function spawnRole(role: 'server' | 'client', extraEnv: Record<string, string>): ChildProcess {
  return fork(HERE, [], {
    env: { ...process.env, KEFU_WS_BENCH_ROLE: role, ...extraEnv },
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);

  return kb * 1024;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;

  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

// ---- server role ------------------------------------------------------------

/** Two plugins for the Kefu server: a greeting and an echo. */
const PLUGINS: Record<string, string> = {
  'greeting.mjs': `export default {
  name: 'greeting', version: '1.0.0',
  intents: [{ name: 'greet', examples: ['hello', 'hi there'] }],
  handle: () => ({ text: 'Hello! How can I help?', quickReplies: ['Orders', 'A human'] }),
};\n`,
  'echo.mjs': `export default {
  name: 'echo', version: '1.0.0',
  intents: [{ name: 'echo', examples: ['echo'] }],
  handle: (turn) => 'echo: ' + turn.text,
};\n`,
};

/** An instant NLU: the first intent with an example inside the text wins. */
class KeywordNlu implements NluProvider {
  readonly name = 'keyword';
  #examples: TrainingExample[] = [];

  async train(examples: readonly TrainingExample[]): Promise<void> {
    this.#examples = [...examples];
  }

  async classify(text: string): Promise<IntentScore[]> {
    const words = ` ${text.toLowerCase()} `;
    const hit = this.#examples.find((e) => words.includes(` ${e.text} `));

    return hit === undefined ? [] : [{ intent: hit.intent, score: 0.9 }];
  }
}

async function runServer(): Promise<void> {
  const kind = process.env.KEFU_WS_BENCH_KIND as Kind;
  const heartbeatMs = Number(process.env.KEFU_WS_BENCH_HEARTBEAT_MS ?? 30_000);
  let port: number;
  let stats: () => unknown = () => ({});

  process.on('disconnect', () => process.exit(0));

  if (kind === 'bare') {
    // The usual bare server: echo, plus the ping/pong liveness check of the
    // ws documentation (one timer pinging every client at once).
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, perMessageDeflate: false });
    type Live = WsSocket & { isAlive?: boolean };
    function onPong(this: Live): void {
      this.isAlive = true;
    }
    wss.on('connection', (ws: Live) => {
      ws.isAlive = true;
      ws.on('pong', onPong);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    setInterval(() => {
      for (const ws of wss.clients as Set<Live>) {
        if (ws.isAlive === false) {
          ws.terminate();
          continue;
        }
        ws.isAlive = false;
        ws.ping();
      }
    }, heartbeatMs).unref();
    await new Promise<void>((r) => wss.once('listening', () => r()));
    port = (wss.address() as { port: number }).port;
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kefu-ws-bench-'));
    await Promise.all(Object.entries(PLUGINS).map(([f, t]) => writeFile(path.join(dir, f), t)));
    process.on('exit', () => void rm(dir, { recursive: true, force: true }));

    const engine = await createEngine({
      plugins: { dir },
      nlu: { provider: new KeywordNlu() },
      rules: { match: () => [] },
    });
    await engine.ready();
    const server = await createChatServer({
      engine,
      port: 0,
      host: '127.0.0.1',
      heartbeatIntervalMs: heartbeatMs,
      maxConnectionsPerIp: 1_000_000,
      rateLimit: { perSecond: 10_000, burst: 10_000 },
    });
    port = server.address()?.port ?? 0;
    stats = () => server.stats();
  }

  // How long the server's event loop was held up: tells a stalled server
  // from a stalled load generator when a p99 looks bad.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let cpu = process.cpuUsage();

  process.on('message', (msg: Msg) => {
    if (msg.type === 'loop') {
      const used = process.cpuUsage(cpu);
      send({ type: 'loop', p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, cpuUs: used.user + used.system });
      delay.reset();
      cpu = process.cpuUsage();
    } else if (msg.type === 'gc') {
      globalThis.gc?.();
      globalThis.gc?.();
      send({ type: 'gcDone' });
    } else if (msg.type === 'stats') {
      send({ type: 'stats', stats: stats() as Record<string, unknown>, memory: process.memoryUsage() });
    }
  });
  send({ type: 'listening', port });
}

// ---- client role -------------------------------------------------------------

interface Pending {
  t0: number;
  answered: number;
}

async function runClient(): Promise<void> {
  const kind = process.env.KEFU_WS_BENCH_KIND as Kind;
  const port = Number(process.env.KEFU_WS_BENCH_PORT);
  const localAddress = process.env.KEFU_WS_BENCH_LOCAL ?? '127.0.0.1';
  const url = `ws://127.0.0.1:${port}/${kind === 'kefu' ? 'ws' : ''}`;
  const sockets: WsSocket[] = [];
  const pending = new Map<string, Pending>();
  let latencies: number[] = [];
  let dupes = 0;
  let errors = 0;
  let nextId = 0;

  process.on('disconnect', () => process.exit(0));

  // The generator shares the cores with the servers, so it reads only what
  // it needs: the id a reply answers, found by a string search rather than
  // a full JSON.parse of every frame (Kefu's acks are skipped outright).
  const idKey = kind === 'kefu' ? '"replyTo":"' : '"id":"';
  const onFrame = (data: Buffer): void => {
    const text = data.toString();
    if (text.startsWith('{"type":"error"')) errors += 1;
    const at = text.indexOf(idKey);
    if (at === -1) return;
    const id = text.slice(at + idKey.length, text.indexOf('"', at + idKey.length));

    const entry = pending.get(id);
    if (entry === undefined) return;
    entry.answered += 1;
    if (entry.answered === 1) latencies.push(performance.now() - entry.t0);
    else dupes += 1;
  };

  /** Opens one connection (and says hello to Kefu); resolves false on failure. */
  const openOne = (): Promise<boolean> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, localAddress });
      const timer = setTimeout(() => {
        ws.terminate();
        resolve(false);
      }, 20_000);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        resolve(ok);
      };
      ws.once('error', () => done(false));
      ws.once('open', () => {
        sockets.push(ws);
        if (kind === 'bare') {
          ws.on('message', onFrame);
          return done(true);
        }
        ws.once('message', () => {
          ws.on('message', onFrame);
          done(true);
        });
        ws.send('{"type":"hello","role":"visitor"}');
      });
    });

  const open = async (count: number): Promise<number> => {
    let failed = 0;
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < count) {
        started += 1;
        if (!(await openOne())) failed += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, count) }, worker));
    return failed;
  };

  /** Sends `rate` messages/s round-robin for `ms`, then waits for stragglers. */
  const load = async (rate: number, ms: number, graceMs: number): Promise<Msg> => {
    latencies = [];
    dupes = 0;
    errors = 0;
    pending.clear();
    const start = performance.now();
    let sent = 0;
    let turn = 0;

    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - start;
        if (elapsed >= ms) {
          clearInterval(timer);
          return resolve();
        }
        // Catch up after a stall, but never more than 50 ms worth at once.
        const due = Math.min(Math.floor((elapsed * rate) / 1000) - sent, Math.ceil(rate / 20));
        for (let i = 0; i < due; i++) {
          const ws = sockets[turn++ % sockets.length];
          if (ws === undefined || ws.readyState !== WebSocket.OPEN) continue;
          const id = `m${nextId++}`;
          pending.set(id, { t0: performance.now(), answered: 0 });
          ws.send(`{"type":"message","id":"${id}","text":"echo how is my order today"}`);
          sent += 1;
        }
      }, 2);
    });

    const deadline = performance.now() + graceMs;
    while (latencies.length < pending.size && performance.now() < deadline) await sleep(20);

    const lost = pending.size - latencies.length;
    return { type: 'result', sent, lost, dupes, errors, latencies };
  };

  process.on('message', (msg: Msg) => {
    void (async () => {
      if (msg.type === 'open') {
        const failed = await open(Number(msg.count));
        send({ type: 'opened', opened: sockets.length, failed });
      } else if (msg.type === 'load') {
        send(await load(Number(msg.rate), Number(msg.ms), Number(msg.graceMs)));
      } else if (msg.type === 'close') {
        for (const ws of sockets) ws.terminate();
        sockets.length = 0;
        send({ type: 'closed' });
      }
    })();
  });
  send({ type: 'ready' });
}

// ---- orchestration (the section) ---------------------------------------------

interface Fleet {
  clients: ChildProcess[];
  /** The server the fleet talks to, for its event-loop delay. */
  server?: ChildProcess;
  close(): Promise<void>;
}

async function startServer(kind: Kind, heartbeatMs: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawnRole('server', {
    KEFU_WS_BENCH_KIND: kind,
    KEFU_WS_BENCH_HEARTBEAT_MS: String(heartbeatMs),
  });
  const msg = await expectMessage(child, 'listening', 60_000);

  return { child, port: Number(msg.port) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  const exited = new Promise((r) => child.once('exit', r));
  child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** `processes` client processes holding `perProcess` connections each. */
async function openFleet(
  kind: Kind,
  port: number,
  processes: number,
  perProcess: number,
  subnet: number,
  firstHost: number,
): Promise<Fleet & { opened: number; failed: number }> {
  const clients = Array.from({ length: processes }, (_, i) =>
    spawnRole('client', {
      KEFU_WS_BENCH_KIND: kind,
      KEFU_WS_BENCH_PORT: String(port),
      // A loopback source address of its own per client process and phase:
      // each has its own ephemeral ports, so sockets left in TIME_WAIT by
      // an earlier phase never run this one out of ports.
      KEFU_WS_BENCH_LOCAL: `127.0.${subnet}.${firstHost + i}`,
    }),
  );
  await Promise.all(clients.map((c) => expectMessage(c, 'ready', 60_000)));

  const results = await Promise.all(
    clients.map((c) => {
      const done = expectMessage(c, 'opened', 120_000);
      c.send({ type: 'open', count: perProcess });
      return done;
    }),
  );

  return {
    clients,
    opened: results.reduce((n, r) => n + Number(r.opened), 0),
    failed: results.reduce((n, r) => n + Number(r.failed), 0),
    async close() {
      await Promise.all(
        clients.map((c) => {
          const done = expectMessage(c, 'closed', 30_000).catch(() => undefined);
          c.send({ type: 'close' });
          return done;
        }),
      );
      await Promise.all(clients.map(stopChild));
    },
  };
}

async function serverRss(server: ChildProcess): Promise<number> {
  server.send({ type: 'gc' });
  await expectMessage(server, 'gcDone', 30_000);

  return rssOf(server.pid as number);
}

interface IdleResult {
  perConnKb: number;
  /** The server's whole JS heap in use with every connection open. */
  heapUsedKb: number;
  opened: number;
  failed: number;
  ms: number;
}

/**
 * RSS per idle connection: the server's RSS with every connection open, less
 * its RSS before the first one, over the number of connections, each read
 * after a forced GC.
 */
async function measureIdle(
  kind: Kind,
  total: number,
  processes: number,
  subnet: number,
  log: (m: string) => void,
): Promise<IdleResult> {
  // A short heartbeat interval, so that every connection has been pinged
  // (and has answered) before its memory is read.
  const { child, port } = await startServer(kind, 5_000);
  let fleet: Fleet | undefined;
  try {
    await sleep(500);
    const before = await serverRss(child);

    const started = performance.now();
    const opened = await openFleet(kind, port, processes, Math.ceil(total / processes), subnet, 2);
    fleet = opened;
    const ms = performance.now() - started;
    log(`${kind}: ${opened.opened} idle connections in ${Math.round(ms)} ms (${opened.failed} failed)`);

    await sleep(5_500);
    const after = await serverRss(child);
    const heap = await serverHeap(child);

    return {
      perConnKb: (after - before) / 1024 / Math.max(1, opened.opened),
      heapUsedKb: heap / 1024,
      opened: opened.opened,
      failed: opened.failed,
      ms,
    };
  } finally {
    await fleet?.close();
    await stopChild(child);
  }
}

async function serverHeap(server: ChildProcess): Promise<number> {
  const done = expectMessage(server, 'stats', 10_000);
  server.send({ type: 'stats' });
  const msg = await done;

  return Number((msg.memory as { heapUsed: number }).heapUsed);
}

interface LoadStep {
  rate: number;
  /** The server's event-loop delay during the step, in ms. */
  loopP99: number;
  loopMax: number;
  /** Server CPU time (user + system) per message during the step, in µs. */
  cpuUsPerMsg: number;
  sent: number;
  lost: number;
  dupes: number;
  errors: number;
  p50: number;
  p99: number;
}

/** The server's event-loop delay and CPU time since the previous call. */
async function loopDelay(server: ChildProcess): Promise<{ p99: number; max: number; cpuUs: number }> {
  const done = expectMessage(server, 'loop', 10_000);
  server.send({ type: 'loop' });
  const msg = await done;

  return { p99: Number(msg.p99), max: Number(msg.max), cpuUs: Number(msg.cpuUs) };
}

async function runLoad(fleet: Fleet, rate: number, ms: number): Promise<LoadStep> {
  if (fleet.server !== undefined) await loopDelay(fleet.server);
  const share = rate / fleet.clients.length;
  const results = await Promise.all(
    fleet.clients.map((c) => {
      const done = expectMessage(c, 'result', ms + 30_000);
      c.send({ type: 'load', rate: share, ms, graceMs: 3_000 });
      return done;
    }),
  );
  const latencies = results.flatMap((r) => r.latencies as number[]).sort((a, b) => a - b);
  const sum = (key: string): number => results.reduce((n, r) => n + Number(r[key]), 0);

  const loop = fleet.server === undefined ? { p99: NaN, max: NaN, cpuUs: NaN } : await loopDelay(fleet.server);

  return {
    rate,
    loopP99: loop.p99,
    loopMax: loop.max,
    cpuUsPerMsg: loop.cpuUs / Math.max(1, sum('sent')),
    sent: sum('sent'),
    lost: sum('lost'),
    dupes: sum('dupes'),
    errors: sum('errors'),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

interface Contender {
  kind: Kind;
  server: ChildProcess;
  fleet: Fleet;
  at1k: LoadStep[];
  steps: LoadStep[];
  maxRate: number;
  isDone: boolean;
}

const isPassing = (step: LoadStep, ms: number): boolean =>
  step.p99 < 50 && step.lost === 0 && step.sent >= (0.9 * step.rate * ms) / 1000;

/**
 * Both servers up at once, each with its own 2 client processes, measured
 * turn about at every rate: background load on a shared machine then falls
 * on both alike instead of on whichever happened to run during a burst.
 */
async function measureLoad(
  conns: number,
  rates: number[],
  baseMs: number,
  stepMs: number,
  log: (m: string) => void,
): Promise<Record<Kind, Contender>> {
  const contenders: Contender[] = [];
  try {
    for (const [kind, subnet] of [['bare', 3], ['kefu', 4]] as const) {
      const { child, port } = await startServer(kind, 30_000);
      const contender: Contender = {
        kind,
        server: child,
        fleet: { clients: [], close: async () => {} },
        at1k: [],
        steps: [],
        maxRate: 0,
        isDone: false,
      };
      contenders.push(contender);
      contender.fleet = await openFleet(kind, port, 2, conns / 2, subnet, 2);
      contender.fleet.server = child;
    }

    // Warm-up, then four rounds at 1,000 msg/s, taking the best p99 of
    // each: one scheduler hiccup on a busy machine should not decide it.
    for (const c of contenders) await runLoad(c.fleet, 1_000, 1_000);
    for (let round = 0; round < 4; round++) {
      for (const c of contenders) c.at1k.push(await runLoad(c.fleet, 1_000, baseMs));
    }
    for (const c of contenders) {
      const all = (pick: (s: LoadStep) => number, digits: number): string =>
        c.at1k.map((s) => pick(s).toFixed(digits)).join(' / ');
      log(
        `${c.kind}: 1,000 msg/s over ${conns} connections: p99 ${all((s) => s.p99, 2)} ms` +
          ` (server loop delay max ${all((s) => s.loopMax, 1)} ms, server CPU ${all((s) => s.cpuUsPerMsg, 0)} µs/msg)`,
      );
    }

    for (const rate of rates) {
      for (const c of contenders) {
        if (c.isDone) continue;
        let step = await runLoad(c.fleet, rate, stepMs);
        if (!isPassing(step, stepMs)) {
          // One retry: on a shared machine a single burst of someone
          // else's work should not end the ramp.
          const again = await runLoad(c.fleet, rate, stepMs);
          if (isPassing(again, stepMs) || again.p99 < step.p99) step = again;
        }
        c.steps.push(step);
        log(
          `${c.kind}: ${rate} msg/s: sent ${step.sent}, p99 ${step.p99.toFixed(2)} ms, lost ${step.lost},` +
            ` dupes ${step.dupes}, server loop delay p99 ${step.loopP99.toFixed(1)} max ${step.loopMax.toFixed(1)} ms,` +
            ` CPU ${step.cpuUsPerMsg.toFixed(0)} µs/msg`,
        );
        if (isPassing(step, stepMs)) c.maxRate = rate;
        else c.isDone = true;
      }
      if (contenders.every((c) => c.isDone)) break;
    }

    const [bare, kefu] = contenders as [Contender, Contender];
    return { bare, kefu };
  } finally {
    for (const c of contenders) {
      await c.fleet.close();
      await stopChild(c.server);
    }
  }
}

const best = (steps: LoadStep[]): LoadStep =>
  steps.reduce((a, b) => (b.p99 < a.p99 ? b : a));

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

const totals = (c: Contender): { lost: number; dupes: number; errors: number } => {
  const all = [...c.at1k, ...c.steps];
  return {
    lost: all.reduce((n, s) => n + s.lost, 0),
    dupes: all.reduce((n, s) => n + s.dupes, 0),
    errors: all.reduce((n, s) => n + s.errors, 0),
  };
};

async function run(ctx: BenchContext): Promise<BenchSection> {
  const quick = ctx.quick;
  const idleTotal = quick ? 3_000 : 19_000;
  const idleProcesses = quick ? 1 : 4;
  const loadConns = 1_000;
  const rates = quick
    ? [2_000, 4_000, 8_000]
    : [2_000, 3_000, 4_000, 6_000, 8_000, 10_000, 12_000, 16_000, 20_000, 24_000, 32_000];
  const baseMs = quick ? 1_500 : 3_000;
  const stepMs = quick ? 1_000 : 2_000;

  ctx.log(`idle: ${idleTotal} connections per server`);
  const bareIdle = await measureIdle('bare', idleTotal, idleProcesses, 1, ctx.log);
  const kefuIdle = await measureIdle('kefu', idleTotal, idleProcesses, 2, ctx.log);

  ctx.log(`load: ${loadConns} connections per server`);
  const { bare, kefu } = await measureLoad(loadConns, rates, baseMs, stepMs, ctx.log);
  const bare1k = best(bare.at1k);
  const kefu1k = best(kefu.at1k);
  const kefuTotals = totals(kefu);
  const bareTotals = totals(bare);

  const figures: BenchFigure[] = [
    {
      name: `idle RSS per connection (${kefuIdle.opened} visitors, each with a session, heartbeats on)`,
      value: round(kefuIdle.perConnKb),
      unit: 'KB',
      peer: { name: `bare ws server (${bareIdle.opened} connections)`, value: round(bareIdle.perConnKb) },
      target: "<= 1.5x the bare server's",
      met: kefuIdle.perConnKb <= 1.5 * bareIdle.perConnKb && kefuIdle.failed === 0,
    },
    {
      name: 'bot-reply p99 at 1,000 connections and 1,000 msg/s',
      value: round(kefu1k.p99, 3),
      unit: 'ms',
      peer: { name: 'bare ws echo p99', value: round(bare1k.p99, 3) },
      target: '<= 2x the bare echo p99 and <= 5 ms',
      met: kefu1k.p99 <= 2 * bare1k.p99 && kefu1k.p99 <= 5,
    },
    {
      name: 'bot-reply p50 at 1,000 connections and 1,000 msg/s',
      value: round(kefu1k.p50, 3),
      unit: 'ms',
      peer: { name: 'bare ws echo p50', value: round(bare1k.p50, 3) },
    },
    {
      name: 'server CPU per message at 1,000 msg/s (user + system, median of the rounds)',
      value: round(median(kefu.at1k.map((s) => s.cpuUsPerMsg)), 0),
      unit: 'µs',
      peer: { name: 'bare ws echo', value: round(median(bare.at1k.map((s) => s.cpuUsPerMsg)), 0) },
    },
    {
      name: 'highest rate with p99 < 50 ms (1,000 connections)',
      value: kefu.maxRate,
      unit: 'msg/s',
      peer: { name: 'bare ws echo', value: bare.maxRate },
      target: ">= 50% of the bare server's",
      met: kefu.maxRate >= 0.5 * bare.maxRate,
    },
    {
      name: 'messages lost or duplicated (all load runs)',
      value: kefuTotals.lost + kefuTotals.dupes,
      unit: 'messages',
      peer: { name: 'bare ws echo', value: bareTotals.lost + bareTotals.dupes },
      target: '0',
      met: kefuTotals.lost + kefuTotals.dupes === 0,
    },
  ];

  const steps = (c: Contender): string =>
    c.steps.map((s) => `${s.rate}/s p99 ${s.p99.toFixed(1)} ms${s.lost > 0 ? ` (${s.lost} unanswered)` : ''}`).join(', ');
  const topped = (c: Contender): string =>
    c.maxRate === rates[rates.length - 1] ? ` (${c.kind} passed the highest rate tried)` : '';

  return {
    section: 'ws',
    figures,
    notes: [
      'Servers and load generators are child processes on loopback, sharing the 2 cores with each other (and with whatever else runs on the machine); quote ratios, not absolutes.',
      `Idle: (RSS with all ${idleTotal} connections - RSS before the first) / connections, read from /proc after a forced GC; clients in ${idleProcesses} processes. A Kefu visitor has said hello and holds a session and a signed token; both servers ping every 5 s (Kefu spread over the interval, the bare server all at once from one timer, as the ws documentation shows). JS heap in use at the end: Kefu ${Math.round(kefuIdle.heapUsedKb / 1024)} MB, bare ${Math.round(bareIdle.heapUsedKb / 1024)} MB. Connect time: Kefu ${Math.round(kefuIdle.ms)} ms, bare ${Math.round(bareIdle.ms)} ms.`,
      'Load: both servers up at once, 2 client processes each, measured turn about. Kefu latency is message sent -> bot reply received, through createEngine with 2 plugins and an instant keyword NLU; bare latency is message sent -> echo received. At 1,000 msg/s the best of four runs counts. A rate step fails at p99 >= 50 ms, any reply missing 3 s after the step, or a generator that sent under 90% of the rate; a failed step is run once more before the ramp stops.',
      `Kefu steps: ${steps(kefu)}${topped(kefu)}. Error frames: ${kefuTotals.errors}.`,
      `Bare steps: ${steps(bare)}${topped(bare)}.`,
      ...(quick ? ['Quick run: 3,000 idle connections and short load steps; indicative only.'] : []),
    ],
  };
}

if (ROLE === 'server') void runServer();
else if (ROLE === 'client') void runClient();

export default run;
