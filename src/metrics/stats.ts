/**
 * Snapshots for GetPoolStats, ListModels and Health, read from the endpoints' state.
 */
import { roundMs, roundUsd } from "../core/round.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  GetPoolStatsResponseSchema,
  HealthResponseSchema,
  LatencyStatsSchema,
  ListModelsResponseSchema,
  ModelInfoSchema,
} from "../../gen/llmpool/v1/llmpool_pb.js";
import { ProviderState } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { CostEntryOut, CostTracker } from "../cost/tracker.js";
import type { Endpoint } from "../pool/endpoint.js";
import { PoolError } from "../core/errors.js";
import type { Pool } from "../pool/pool.js";
import type { SlidingWindow } from "./window.js";
import type { StateLog } from "./state-log.js";
import type { RaceTally } from "./race-tally.js";

/** What the snapshots read beside the pool. */
export interface StatsSources {
  /** Cost totals, budgets, and providers out of rotation for their budget. */
  cost?: CostTracker;
  /** Races entered and won per provider (race_entries, race_wins). */
  races?: Pick<RaceTally, "counts">;
  /** Bring cluster-wide figures up to date before a snapshot (shared state, src/state). */
  refresh?: () => Promise<void>;
  /** Each provider's recent state changes (state_changes). */
  stateLog?: Pick<StateLog, "sweep" | "changes">;
}

/**
 * A provider's place in rotation as every reader reports it: the endpoint's own state, except
 * that a provider past its budget is DISABLED (out of rotation until the period resets).
 */
export function providerView(e: Endpoint, cost: CostTracker | undefined): { state: ProviderState; healthy: boolean; lastError: string } {
  const budget = cost ? cost.budgets.providerBlock(e) : "";
  if (budget) return { state: ProviderState.DISABLED, healthy: false, lastError: `budget: ${budget}` };
  return { state: e.state, healthy: e.healthy, lastError: e.disabledReason || e.lastError };
}

function costEntries(entries: CostEntryOut[]) {
  return entries.map((c) => ({
    key: c.key,
    requests: BigInt(c.requests),
    promptTokens: BigInt(c.promptTokens),
    completionTokens: BigInt(c.completionTokens),
    costUsd: roundUsd(c.costUsd),
  }));
}

function latencyStats(window: SlidingWindow, ewma: number, now: number): MessageInitShape<typeof LatencyStatsSchema> {
  return {
    ewmaMs: roundMs(ewma),
    p50Ms: roundMs(window.percentile(50, now) ?? 0),
    p95Ms: roundMs(window.percentile(95, now) ?? 0),
    p99Ms: roundMs(window.percentile(99, now) ?? 0),
    samples: window.size(now),
  };
}

export function buildPoolStats(
  pool: Pool,
  filter: readonly string[] = [],
  sources: StatsSources = {},
): MessageInitShape<typeof GetPoolStatsResponseSchema> {
  const cost = sources.cost;
  for (const [i, name] of filter.entries()) {
    if (!pool.endpoint(name)) {
      throw new PoolError("invalid_argument", `providers[${i}]: no provider named ${JSON.stringify(name)}`);
    }
  }
  const now = pool.clock.now();
  const all = pool.endpoints;
  sources.stateLog?.sweep(all);
  const shown = filter.length > 0 ? all.filter((e) => filter.includes(e.name)) : all;
  const totalCalls = all.reduce((s, e) => s + e.requests, 0);
  let promptTokens = 0;
  let completionTokens = 0;
  let spent = 0;
  for (const e of all) {
    promptTokens += e.promptTokens;
    completionTokens += e.completionTokens;
    spent += e.costUsd;
  }
  const views = new Map(all.map((e) => [e, providerView(e, cost)]));
  return {
    providers: shown.map((e) => ({
      name: e.name,
      type: e.type,
      state: views.get(e)!.state,
      healthy: views.get(e)!.healthy,
      inFlight: e.inFlight,
      requests: BigInt(e.requests),
      successes: BigInt(e.successes),
      failures: BigInt(e.failures),
      retries: BigInt(e.retries),
      fallbacks: BigInt(e.fallbacks),
      latency: latencyStats(e.latency, e.ewmaLatencyMs, now),
      ttft: latencyStats(e.ttft, e.ewmaTtftMs, now),
      errorRate: e.errorRate,
      rateLimit: (() => {
        const r = e.rateLimitStatus(now);
        return { ...r, rejections: BigInt(r.rejections) };
      })(),
      promptTokens: BigInt(e.promptTokens),
      completionTokens: BigInt(e.completionTokens),
      costUsd: roundUsd(e.costUsd),
      lastError: views.get(e)!.lastError,
      weight: e.weight,
      priority: e.priority,
      models: [...e.models.keys()],
      consecutiveFailures: e.consecutiveFailures,
      ejections: pool.resilience.ejector.ejections(e),
      trafficShare: totalCalls > 0 ? e.requests / totalCalls : 0,
      raceEntries: BigInt(sources.races?.counts(e.name).entries ?? 0),
      raceWins: BigInt(sources.races?.counts(e.name).wins ?? 0),
      stateChanges: [...(sources.stateLog?.changes(e.name) ?? [])],
    })),
    totals: {
      requests: BigInt(pool.totals.requests),
      successes: BigInt(pool.totals.successes),
      failures: BigInt(pool.totals.failures),
      upstreamCalls: BigInt(pool.totals.upstreamCalls),
      retries: BigInt(pool.totals.retries),
      fallbacks: BigInt(pool.totals.fallbacks),
      inFlight: pool.totals.inFlight,
      queueDepth: pool.queueDepth,
      promptTokens: BigInt(promptTokens),
      completionTokens: BigInt(completionTokens),
      costUsd: roundUsd(cost ? cost.totalCostUsd() : spent),
      latency: latencyStats(pool.latency, 0, now),
    },
    strategy: pool.config.pool.strategy,
    fallback: pool.config.pool.fallback,
    uptimeS: (now - pool.startedAt) / 1000,
    configVersion: pool.configVersion,
    configLoadedAtMs: BigInt(Math.round(pool.configLoadedAt)),
    healthyProviders: all.filter((e) => views.get(e)!.healthy).length,
    costByProvider: cost ? costEntries(cost.entries("provider", filter)) : [],
    costByModel: cost ? costEntries(cost.entries("model")) : [],
    costByTenant: cost ? costEntries(cost.entries("tenant")) : [],
    budgets: cost ? cost.budgets.statuses(all, filter) : [],
  };
}

export function buildModelList(pool: Pool, provider: string): MessageInitShape<typeof ListModelsResponseSchema> {
  const models: MessageInitShape<typeof ModelInfoSchema>[] = [];
  for (const router of [pool.router, pool.embeddingRouter]) {
    for (const name of router.models()) {
      const routes = (router.routesFor(name) ?? []).filter((r) => !provider || r.endpoint.name === provider);
      if (routes.length === 0) continue;
      models.push({
        name,
        providers: routes.map((r) => r.endpoint.name),
        routes: routes.map((r) => routeInfo(r.endpoint, r.upstreamModel)),
        kind: router.kind,
      });
    }
  }
  models.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0));
  return { models, defaultModel: pool.router.defaultModel };
}

function routeInfo(e: Endpoint, upstreamModel: string) {
  const caps = e.capabilities;
  return {
    provider: e.name,
    upstreamModel,
    type: e.type,
    healthy: e.healthy,
    vision: caps.vision,
    tools: caps.tools,
    contextWindow: caps.contextWindow,
  };
}

/** Whether the pool can serve (optionally: a model), as Health, grpc.health and /readyz say. */
export function poolServing(pool: Pool, model = "", sources: StatsSources = {}): { serving: boolean; healthy: number; total: number } {
  let eps: readonly Endpoint[] = pool.endpoints;
  if (model) {
    const routes = pool.router.routesFor(model);
    if (!routes) {
      throw new PoolError("not_found", `model ${JSON.stringify(model)} is not served; served models: ${pool.router.models().join(", ")}`);
    }
    eps = routes.map((r) => r.endpoint);
  }
  const healthy = eps.filter((e) => providerView(e, sources.cost).healthy).length;
  const min = pool.config.pool.min_healthy;
  // For one model, fewer providers may serve it than min_healthy asks of the whole pool.
  const serving = model ? healthy >= Math.max(1, Math.min(min, eps.length)) : healthy >= min;
  return { serving, healthy, total: eps.length };
}

export function buildHealth(
  pool: Pool,
  model: string,
  draining: boolean,
  sources: StatsSources = {},
): MessageInitShape<typeof HealthResponseSchema> {
  const { serving, healthy, total } = poolServing(pool, model, sources);
  const ok = serving && !draining;
  return {
    serving: ok,
    status: ok ? "SERVING" : "NOT_SERVING",
    healthyProviders: healthy,
    totalProviders: total,
    minHealthy: pool.config.pool.min_healthy,
    providers: pool.endpoints.map((e) => ({ name: e.name, ...providerView(e, sources.cost) })),
  };
}
