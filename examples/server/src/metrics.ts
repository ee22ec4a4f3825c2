import type { Engine } from '@kefu/core';
import type { ChatServerStats } from '@kefu/transport-ws';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the metrics read from the live chat: its counters. */
export interface ChatStatsSource {
  stats(): ChatServerStats;
}

const BREAKER_STATES = ['closed', 'halfOpen', 'open'] as const;

/**
 * Builds the `/metrics` registry: per-turn figures come from engine events,
 * pool, breaker, plugin and connection figures are read from `stats()` at
 * scrape time, so a scrape always sees the current state.
 */
export function createMetrics(engine: Engine, chat?: () => ChatStatsSource | undefined): Registry {
  const registry = new Registry();

  collectDefaultMetrics({ register: registry, prefix: 'kefu_' });

  const turns = new Counter({
    name: 'kefu_turns_total',
    help: 'Turns answered, by where the intent came from',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'kefu_turn_latency_seconds',
    help: 'Time from a message entering the engine to its reply',
    labelNames: ['source'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'kefu_nlu_fallbacks_total',
    help: 'Turns the rules answered instead of the NLU, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const outOfScope = new Counter({
    name: 'kefu_out_of_scope_total',
    help: 'Turns no intent won, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const pluginErrors = new Counter({
    name: 'kefu_plugin_errors_total',
    help: 'Plugin failures (load, set-up or handle)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

  new Gauge({
    name: 'kefu_breaker_state',
    help: 'NLU circuit breaker: 1 for the current state, 0 for the others',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const state = engine.stats().breaker.state;

      for (const s of BREAKER_STATES) this.set({ state: s }, s === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'kefu_breaker_opens',
    help: 'Times the NLU circuit breaker opened since start',
    registers: [registry],
    collect() {
      this.set(engine.stats().breaker.opens);
    },
  });
  new Gauge({
    name: 'kefu_session_pool_size',
    help: 'Sessions held in the in-process pool',
    registers: [registry],
    collect() {
      this.set(engine.stats().sessions.size);
    },
  });
  new Gauge({
    name: 'kefu_session_pool_hit_rate',
    help: 'Share of session look-ups served by the pool, in [0, 1]',
    registers: [registry],
    collect() {
      this.set(engine.stats().sessions.hitRate);
    },
  });
  new Gauge({
    name: 'kefu_session_pool_lookups',
    help: 'Session look-ups since start, by result',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const { hits, misses, evictions } = engine.stats().sessions;

      this.set({ result: 'hit' }, hits);
      this.set({ result: 'miss' }, misses);
      this.set({ result: 'eviction' }, evictions);
    },
  });
  new Gauge({
    name: 'kefu_nlu_ready',
    help: '1 once the NLU has trained on the loaded plugins',
    registers: [registry],
    collect() {
      this.set(engine.isReady ? 1 : 0);
    },
  });
  new Gauge({
    name: 'kefu_plugin_info',
    help: 'Loaded plugins: 1 per name, version and state',
    labelNames: ['name', 'version', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of engine.plugins.list()) {
        this.set({ name: p.name, version: p.version, state: p.state }, 1);
      }
    },
  });
  new Gauge({
    name: 'kefu_ws_connections',
    help: 'Open live-chat connections',
    registers: [registry],
    collect() {
      const stats = chat?.()?.stats();

      this.set(stats?.connections ?? 0);
    },
  });
  new Gauge({
    name: 'kefu_ws_peers',
    help: 'Live-chat peers now: visitor and agent connections, conversations waiting for an agent',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const stats = chat?.()?.stats();

      if (stats === undefined) return;
      this.set({ kind: 'visitors' }, stats.visitors);
      this.set({ kind: 'agents' }, stats.agents);
      this.set({ kind: 'waiting' }, stats.waiting);
    },
  });
  new Gauge({
    name: 'kefu_ws_messages',
    help: 'Live-chat frames since start, by direction',
    labelNames: ['direction'] as const,
    registers: [registry],
    collect() {
      const stats = chat?.()?.stats();

      if (stats === undefined) return;
      this.set({ direction: 'in' }, stats.messagesIn);
      this.set({ direction: 'out' }, stats.messagesOut);
    },
  });
  new Gauge({
    name: 'kefu_ws_events',
    help: 'Live-chat events since start: resumes, duplicate ids, drops, refused handshakes, error frames',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const stats = chat?.()?.stats();

      if (stats === undefined) return;
      this.set({ kind: 'resumes' }, stats.resumes);
      this.set({ kind: 'duplicates' }, stats.duplicates);
      this.set({ kind: 'drops' }, stats.drops);
      this.set({ kind: 'refused' }, stats.refused);
      this.set({ kind: 'errors' }, stats.errors);
    },
  });

  engine.on('reply.out', ({ reply }) => {
    turns.inc({ source: reply.source });
    latency.observe({ source: reply.source }, reply.latencyMs / 1000);
    if (reply.reason !== undefined) outOfScope.inc({ reason: reply.reason });
  });
  engine.on('nlu.fallback', ({ reason }) => fallbacks.inc({ reason }));
  engine.on('plugin.failed', () => pluginErrors.inc({ kind: 'load' }));
  // Plugins that failed while the engine started did so before this listener existed.
  const failedAtStart = engine.plugins.list().filter((p) => p.state === 'failed').length;

  if (failedAtStart > 0) pluginErrors.inc({ kind: 'load' }, failedAtStart);
  engine.on('error', () => pluginErrors.inc({ kind: 'handle' }));

  return registry;
}
