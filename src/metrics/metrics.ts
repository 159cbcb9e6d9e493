/**
 * Prometheus metrics (prom-client), one registry per server so tests can run several.
 *
 * Labels are bounded: `provider` and `model` come from the config, `kind`, `outcome`,
 * `status`, `direction`, `state`, `limit`, `scope` and `period` from closed sets. Tenant names
 * from requests never become labels; only tenants named in `cost.budgets.tenants` appear, as
 * the `key` of budget gauges.
 *
 * Counters kept elsewhere (rate-limit rejections, src/limits/rate-limits.ts) and every
 * gauge are read at scrape time, so the request path pays only for the counters and
 * histograms it updates itself.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { FastCounter, FastHistogram } from "./fast-series.js";
import { ProviderState } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { CostTracker } from "../cost/tracker.js";
import type { ResponseCache } from "../cache/response-cache.js";
import type { Endpoint } from "../pool/endpoint.js";
import type { CallOutcome, CallRole } from "../core/outcome.js";
import type { PoolObserver } from "../pool/observer.js";
import type { RequestRecord } from "../core/outcome.js";
import type { Pool } from "../pool/pool.js";
import { providerView } from "./stats.js";
import type { StateBackend } from "../state/state.js";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface Metrics {
  registry: Registry;
  observer: PoolObserver;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop, GC; prom-client defaults). Default true. */
  processMetrics?: boolean;
  /** Cost tracker, for budget gauges and ledger backlog (and budget-blocked providers). */
  cost?: CostTracker;
  /** Shared state backend, for llmpool_state_backend_up. */
  state?: StateBackend;
  /** Response cache, for its hit and miss counters. */
  cache?: ResponseCache;
}

/** Status of an upstream attempt: ok, canceled, or the failure kind (a closed set). */
function attemptStatus(o: CallOutcome): string {
  if (o.ok) return "ok";
  if (o.canceled) return "canceled";
  return o.error?.kind ?? "error";
}

/** Every ProviderState as a label value: "healthy", "breaker_open", ... */
const STATE_NAMES: [ProviderState, string][] = Object.entries(ProviderState)
  .filter(([, v]) => typeof v === "number" && v !== ProviderState.UNSPECIFIED)
  .map(([k, v]) => [v as ProviderState, k.toLowerCase()]);

/** Circuit breaker as a number: 0 closed, 1 half-open, 2 open. */
function breakerValue(s: ProviderState): number {
  if (s === ProviderState.BREAKER_OPEN) return 2;
  if (s === ProviderState.BREAKER_HALF_OPEN) return 1;
  return 0;
}

export function createMetrics(pool: () => Pool, opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const cost = opts.cost;
  const registers = [registry];
  const state = opts.state;
  if (state) {
    new Gauge({
      name: "llmpool_state_backend_up",
      help: "1 while the state backend (limits, budgets, spend) answers, 0 while it is down; backend: memory or redis.",
      labelNames: ["backend"] as const,
      registers,
      collect() {
        this.set({ backend: state.kind }, state.up ? 1 : 0);
      },
    });
  }

  // The request path updates these on every call: fast-series.ts, not prom-client's own.
  const requests = new FastCounter({
    name: "llmpool_requests_total",
    help: "Client requests by RPC kind (chat, stream), model and outcome (ok or the gRPC code name).",
    labelNames: ["kind", "model", "outcome"],
    registers,
  });
  const requestDuration = new FastHistogram({
    name: "llmpool_request_duration_seconds",
    help: "Client-facing latency of successful requests, by RPC kind and model.",
    labelNames: ["kind", "model"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const requestTtft = new FastHistogram({
    name: "llmpool_request_ttft_seconds",
    help: "Client-facing time to first token of successful streams, by model.",
    labelNames: ["model"],
    buckets: TTFT_BUCKETS,
    registers,
  });
  const upstream = new FastCounter({
    name: "llmpool_upstream_requests_total",
    help: "Upstream attempts by provider and status (ok, canceled, or the failure kind).",
    labelNames: ["provider", "status"],
    registers,
  });
  const upstreamDuration = new FastHistogram({
    name: "llmpool_upstream_duration_seconds",
    help: "Latency of successful upstream calls by provider.",
    labelNames: ["provider"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const upstreamTtft = new FastHistogram({
    name: "llmpool_upstream_ttft_seconds",
    help: "Time to first token of successful upstream streams by provider.",
    labelNames: ["provider"],
    buckets: TTFT_BUCKETS,
    registers,
  });
  const retries = new FastCounter({
    name: "llmpool_retries_total",
    help: "Upstream attempts that retried a provider already tried for the request.",
    labelNames: ["provider"],
    registers,
  });
  const fallbacks = new FastCounter({
    name: "llmpool_fallbacks_total",
    help: "Upstream attempts a provider received as a fallback from another provider.",
    labelNames: ["provider"],
    registers,
  });
  const tokens = new FastCounter({
    name: "llmpool_tokens_total",
    help: "Tokens by provider, model and direction (prompt, completion).",
    labelNames: ["provider", "model", "direction"],
    registers,
  });
  const cachedTokens = new FastCounter({
    name: "llmpool_cached_tokens_total",
    help: "Prompt tokens served from the provider's prompt cache (part of the prompt tokens).",
    labelNames: ["provider", "model"],
    registers,
  });
  const costUsd = new FastCounter({
    name: "llmpool_cost_usd_total",
    help: "Spend in US dollars by provider and model.",
    labelNames: ["provider", "model"],
    registers,
  });

  /** A gauge (or counter) whose value is read from the pool at scrape time. */
  const perProvider = (name: string, help: string, read: (e: Endpoint, p: Pool) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["provider"] as const,
      registers,
      collect() {
        this.reset();
        const p = pool();
        for (const e of p.endpoints) this.set({ provider: e.name }, read(e, p));
      },
    });
  perProvider("llmpool_provider_in_flight", "Upstream calls in flight by provider.", (e) => e.inFlight);
  perProvider("llmpool_provider_healthy", "1 when the provider is in rotation (healthy and within budget), else 0.", (e) =>
    providerView(e, cost).healthy ? 1 : 0,
  );
  perProvider("llmpool_provider_circuit_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", (e) => breakerValue(e.state));
  perProvider("llmpool_provider_error_rate", "Failure share of the provider's recent calls, in [0, 1].", (e) => e.errorRate);
  perProvider("llmpool_provider_latency_ewma_seconds", "Peak-sensitive EWMA of successful call latency.", (e) => e.ewmaLatencyMs / 1000);
  new Gauge({
    name: "llmpool_provider_state",
    help: "The provider's place in rotation: 1 for its current state, 0 for the others.",
    labelNames: ["provider", "state"] as const,
    registers,
    collect() {
      this.reset();
      for (const e of pool().endpoints) {
        const s = providerView(e, cost).state;
        for (const [v, name] of STATE_NAMES) this.set({ provider: e.name, state: name }, v === s ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: "llmpool_provider_rate_limit_remaining",
    help: "Rate-limit headroom: requests or tokens left in the current window, for each configured limit (rpm, rpd, tpm).",
    labelNames: ["provider", "limit"] as const,
    registers,
    collect() {
      this.reset();
      const p = pool();
      const now = p.clock.now();
      for (const e of p.endpoints) {
        const r = e.rateLimitStatus(now);
        if (r.rpmLimit > 0) this.set({ provider: e.name, limit: "rpm" }, r.rpmRemaining);
        if (r.rpdLimit > 0) this.set({ provider: e.name, limit: "rpd" }, r.rpdRemaining);
        if (r.tpmLimit > 0) this.set({ provider: e.name, limit: "tpm" }, r.tpmRemaining);
      }
    },
  });
  new Counter({
    name: "llmpool_rate_limit_rejections_total",
    help: "Requests a provider's rate limit, concurrency cap or cool-down kept from it.",
    labelNames: ["provider"] as const,
    registers,
    collect() {
      this.reset();
      const p = pool();
      const now = p.clock.now();
      for (const e of p.endpoints) this.inc({ provider: e.name }, e.rateLimitStatus(now).rejections);
    },
  });
  new Gauge({
    name: "llmpool_in_flight",
    help: "Client requests in flight.",
    registers,
    collect() {
      this.set(pool().totals.inFlight);
    },
  });
  new Gauge({
    name: "llmpool_queue_depth",
    help: "Client requests waiting in the queue for a provider.",
    registers,
    collect() {
      this.set(pool().queueDepth);
    },
  });
  if (cost) {
    const budgetGauge = (name: string, help: string, pick: (s: { limitUsd: number; spentUsd: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["scope", "key", "period"] as const,
        registers,
        collect() {
          this.reset();
          const tenants = pool().config.cost.budgets.tenants;
          for (const s of cost.budgets.statuses(pool().endpoints)) {
            // Only tenants named in the config: "*" matches open-ended tenant names.
            if (s.scope === "tenant" && !Object.hasOwn(tenants, s.key)) continue;
            this.set({ scope: s.scope, key: s.key, period: s.period }, pick(s));
          }
        },
      });
    budgetGauge("llmpool_budget_limit_usd", "Configured budget limits in US dollars (scope tenant or provider).", (s) => s.limitUsd);
    budgetGauge("llmpool_budget_spent_usd", "Spend in the budget's current period in US dollars.", (s) => s.spentUsd);
    new Gauge({
      name: "llmpool_ledger_pending_writes",
      help: "Priced calls waiting to be written to the cost ledger.",
      registers,
      collect() {
        this.set(cost.ledger.pending);
      },
    });
  }

  const cache = opts.cache;
  if (cache) {
    // The cache keeps its own counts; read at scrape time so a hit costs two increments.
    const st = cache.stats;
    const byKind = (name: string, help: string, read: (k: "chat" | "stream") => number) =>
      new Counter({
        name,
        help,
        labelNames: ["kind"] as const,
        registers,
        collect() {
          this.reset();
          for (const k of ["chat", "stream"] as const) this.inc({ kind: k }, read(k));
        },
      });
    byKind("llmpool_cache_hits_total", "Requests answered from the response cache, by RPC kind (chat, stream).", (k) => st.hits[k]);
    byKind("llmpool_cache_misses_total", "Cacheable requests not found in the response cache, by RPC kind.", (k) => st.misses[k]);
    new Counter({
      name: "llmpool_cache_stores_total",
      help: "Answers written to the response cache.",
      registers,
      collect() {
        this.reset();
        this.inc(st.stores);
      },
    });
    new Counter({
      name: "llmpool_cache_too_large_total",
      help: "Answers not cached because they were over cache.max_entry_bytes.",
      registers,
      collect() {
        this.reset();
        this.inc(st.tooLarge);
      },
    });
    new Gauge({
      name: "llmpool_cache_entries",
      help: "Entries in the in-memory response cache (absent with the Redis store).",
      registers,
      collect() {
        this.set(cache.store.size ?? 0);
      },
    });
  }

  const observer: PoolObserver = {
    attemptStarted(_r: RequestRecord, e: Endpoint, role: CallRole) {
      if (role === "retry") retries.inc(1, e.name);
      else if (role === "fallback") fallbacks.inc(1, e.name);
    },
    attemptEnded(r: RequestRecord, e: Endpoint, o: CallOutcome) {
      const provider = e.name;
      upstream.inc(1, provider, attemptStatus(o));
      if (o.ok) {
        upstreamDuration.observe(o.latencyMs / 1000, provider);
        if (o.ttftMs !== undefined) upstreamTtft.observe(o.ttftMs / 1000, provider);
      }
      if (o.usage) {
        const model = r.model;
        tokens.inc(o.usage.promptTokens, provider, model, "prompt");
        tokens.inc(o.usage.completionTokens, provider, model, "completion");
        if (o.usage.cachedTokens > 0) cachedTokens.inc(o.usage.cachedTokens, provider, model);
        if (o.costUsd) costUsd.inc(o.costUsd, provider, model);
      }
    },
    requestEnded(r: RequestRecord) {
      const outcome = r.error ? r.error.code : "ok";
      requests.inc(1, r.kind, r.model, outcome);
      if (!r.error) {
        requestDuration.observe(r.latencyMs / 1000, r.kind, r.model);
        if (r.ttftMs !== undefined) requestTtft.observe(r.ttftMs / 1000, r.model);
      }
    },
  };
  return { registry, observer };
}
