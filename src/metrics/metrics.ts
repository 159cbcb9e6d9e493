/**
 * Prometheus metrics (prom-client), one registry per server so tests can run several.
 * Labels are bounded: provider and model names come from the config, outcomes from a closed
 * set; tenant names and other free text never become labels.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CallOutcome, Endpoint } from "../pool/endpoint.js";
import type { PoolObserver, RequestRecord } from "../pool/observer.js";
import type { Pool } from "../pool/pool.js";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export interface Metrics {
  registry: Registry;
  observer: PoolObserver;
}

/** Status class of an upstream attempt: ok, or the failure kind (a closed set). */
function attemptStatus(o: CallOutcome): string {
  if (o.ok) return "ok";
  if (o.canceled) return "canceled";
  return o.error?.kind ?? "error";
}

export function createMetrics(pool: () => Pool, opts: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "llmpool_process_" });

  const requests = new Counter({
    name: "llmpool_requests_total",
    help: "Client requests by RPC kind, model and outcome (ok or the gRPC code name).",
    labelNames: ["kind", "model", "outcome"] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: "llmpool_request_duration_seconds",
    help: "Client-facing latency of requests, by RPC kind and model.",
    labelNames: ["kind", "model"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const upstream = new Counter({
    name: "llmpool_upstream_requests_total",
    help: "Upstream attempts by provider and status (ok or failure kind).",
    labelNames: ["provider", "status"] as const,
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: "llmpool_upstream_duration_seconds",
    help: "Latency of successful upstream calls by provider.",
    labelNames: ["provider"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tokens = new Counter({
    name: "llmpool_tokens_total",
    help: "Tokens by provider and direction (prompt, completion).",
    labelNames: ["provider", "direction"] as const,
    registers: [registry],
  });
  const cost = new Counter({
    name: "llmpool_cost_usd_total",
    help: "Spend in US dollars by provider.",
    labelNames: ["provider"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "llmpool_provider_in_flight",
    help: "Upstream calls in flight by provider.",
    labelNames: ["provider"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const e of pool().endpoints) this.set({ provider: e.name }, e.inFlight);
    },
  });
  new Gauge({
    name: "llmpool_provider_healthy",
    help: "1 when the provider is in rotation, else 0.",
    labelNames: ["provider"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const e of pool().endpoints) this.set({ provider: e.name }, e.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: "llmpool_in_flight",
    help: "Client requests in flight.",
    registers: [registry],
    collect() {
      this.set(pool().totals.inFlight);
    },
  });

  const observer: PoolObserver = {
    attemptEnded(_r: RequestRecord, e: Endpoint, o: CallOutcome) {
      upstream.inc({ provider: e.name, status: attemptStatus(o) });
      if (o.ok) upstreamDuration.observe({ provider: e.name }, o.latencyMs / 1000);
      if (o.usage) {
        tokens.inc({ provider: e.name, direction: "prompt" }, o.usage.promptTokens);
        tokens.inc({ provider: e.name, direction: "completion" }, o.usage.completionTokens);
      }
      if (o.costUsd) cost.inc({ provider: e.name }, o.costUsd);
    },
    requestEnded(r: RequestRecord) {
      const outcome = r.error ? r.error.code : "ok";
      requests.inc({ kind: r.kind, model: r.model, outcome });
      if (!r.error) requestDuration.observe({ kind: r.kind, model: r.model }, r.latencyMs / 1000);
    },
  };
  return { registry, observer };
}
