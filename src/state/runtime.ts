/**
 * The server's shared state, built from `state:`: the backend, shared admission for the pool,
 * availability logging (one line per change), and the cluster-wide spend that GetPoolStats
 * and budget statuses show (pulled every `syncIntervalMs` and before each GetPoolStats).
 */
import type { Config } from "../config/schema.js";
import { redactRedisUrl } from "../config/state-schema.js";
import type { CostTracker } from "../cost/tracker.js";
import type { SharedMode } from "../limits/limiter.js";
import type { Endpoint } from "../pool/endpoint.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { createMemoryState } from "./memory.js";
import { createRedisState, type RedisStateOptions } from "./redis.js";
import { createSharedAdmission, type SharedAdmission } from "./shared-admission.js";
import type { StateBackend } from "./state.js";

export interface StateRuntimeOptions {
  config: () => Config;
  /** Providers whose cluster-wide window use GetPoolStats shows (read on each refresh). */
  providers?: () => readonly { name: string; config: { rpm: number; rpd: number; tpm: number } }[];
  cost: CostTracker;
  clock: Clock;
  logger?: Logger;
  /** The cluster refused a call on this provider (counted with its rate-limit rejections). */
  onRefused?: (e: Endpoint) => void;
  /** How often cluster-wide spend is pulled, ms (default 2000). */
  syncIntervalMs?: number;
  /** Redis client tuning (timeouts, backoff); defaults in src/state/redis.ts. */
  redis?: Omit<RedisStateOptions, "url" | "keyPrefix">;
}

export interface StateRuntime {
  readonly backend: StateBackend;
  /** Set when counters are shared (backend redis). */
  readonly admission?: SharedAdmission;
  /** For the pool's limiters (src/limits/limiter.ts), when shared. */
  readonly sharedMode?: SharedMode;
  /** Pull cluster-wide spend into the cost tracker (no-op when nothing is shared or it is down). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** Longest GetPoolStats waits for fresh shared figures before answering with the last ones. */
const REFRESH_WAIT_MS = 300;

export function createStateRuntime(opts: StateRuntimeOptions): StateRuntime {
  const cfg = opts.config().state;
  const log = opts.logger;
  if (cfg.backend === "memory") {
    const backend = createMemoryState();
    return { backend, refresh: async () => {}, close: () => backend.close() };
  }
  const url = cfg.url!;
  const where = redactRedisUrl(url);
  const backend = createRedisState({ url, keyPrefix: cfg.key_prefix, ...opts.redis });
  backend.onAvailability((up) => {
    if (up) log?.info({ state_backend: "redis", url: where }, "state backend up: limits, budgets and spend are shared");
    else {
      const fallback = opts.config().state.on_unavailable === "local" ? `local limits (each limit / ${opts.config().state.replicas_hint})` : "refusing requests (on_unavailable: closed)";
      log?.warn({ state_backend: "redis", url: where }, `state backend down: ${fallback} until it answers again`);
    }
  });
  const admission = createSharedAdmission({ backend, config: opts.config, budgets: opts.cost.budgets, clock: opts.clock, onRefused: opts.onRefused });

  /** Cluster-wide window use per provider, as last read (stats only; limits ask Redis). */
  const usage = new Map<string, { rpm: number; rpd: number; tpm: number; cooldownMs: number }>();
  const pullWindows = async (now: number) => {
    const limited = (opts.providers?.() ?? []).filter((p) => p.config.rpm > 0 || p.config.rpd > 0 || p.config.tpm > 0);
    const read = await Promise.all(limited.map((p) => backend.windows(p.name, now)));
    usage.clear();
    limited.forEach((p, i) => {
      const w = read[i];
      if (w) usage.set(p.name, { rpm: w.rpmUsed, rpd: w.rpdUsed, tpm: w.tpmUsed, cooldownMs: w.cooldownMs });
    });
  };
  let inFlight: Promise<void> | undefined;
  const pull = (): Promise<void> => {
    if (!backend.up) return Promise.resolve();
    const now = opts.clock.wallNow();
    inFlight ??= Promise.all([
      backend.snapshot(now).then((snap) => {
        if (snap) opts.cost.adopt(snap);
      }),
      pullWindows(now),
    ])
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => (inFlight = undefined));
    return inFlight;
  };
  const timer = setInterval(() => void pull(), opts.syncIntervalMs ?? 2000);
  timer.unref();
  backend.onAvailability((up) => {
    if (up) void pull();
  });

  return {
    backend,
    admission,
    sharedMode: { active: () => backend.up, replicas: cfg.replicas_hint, usage: (name) => usage.get(name) },
    refresh() {
      let t: NodeJS.Timeout | undefined;
      return Promise.race([pull(), new Promise<void>((r) => (t = setTimeout(r, REFRESH_WAIT_MS)))]).finally(() => clearTimeout(t));
    },
    async close() {
      clearInterval(timer);
      await backend.close();
    },
  };
}
