/**
 * The configuration schema (README.md, "Configuration"): snake_case keys, every default in one place,
 * unknown keys rejected. Types are derived from the schema, so the parser and the code that
 * reads the config cannot drift apart.
 */
import { z } from "zod";
import { affinityOptions } from "../balancer/affinity.js";
import { STRATEGY_NAMES } from "../balancer/names.js";
import { strategyOptionsSchema } from "../balancer/registry.js";
import {
  ADAPTER_TYPES,
  COMPOSITE_TYPES,
  PROVIDER_TYPES,
  budgetSchema,
  circuitBreakerSchema,
  mockSchema,
  modelPriceSchema,
  nonNeg,
  nonNegInt,
  posInt,
  providerSchema,
} from "./provider-schema.js";
import { securityServerKeys } from "./security-schema.js";
import { stateSchema } from "./state-schema.js";
import { cacheSchema } from "./cache-schema.js";
import { telemetrySchema } from "./telemetry-schema.js";

/** Strategy names accepted in `pool.strategy` and `routing.strategy` (one list, in balancer/names.ts). */
export { STRATEGY_NAMES };
export { ADAPTER_TYPES, COMPOSITE_TYPES, PROVIDER_TYPES, providerSchema };

export const FALLBACK_POLICIES = ["none", "next_available", "retry_same", "best_alternative"] as const;

const serverSchema = z.strictObject({
  port: z.number().int().min(0).max(65_535, "must be <= 65535").default(50051),
  /** Loopback by default: another address needs gateway keys or server.auth.allow_anonymous. */
  host: z.string().min(1).default("127.0.0.1"),
  tls: z
    .strictObject({
      cert_file: z.string().min(1),
      key_file: z.string().min(1),
    })
    .optional(),
  cors: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Origins allowed to call from a browser; "*" allows any; none by default (the dashboard is same-origin). */
      allowed_origins: z.array(z.string()).default([]),
      /** Extra request headers browsers may send. */
      allowed_headers: z.array(z.string()).default([]),
      /** Extra response headers browsers may read. */
      exposed_headers: z.array(z.string()).default([]),
      max_age_s: nonNegInt.default(7200),
    })
    .prefault({}),
  /** auth, timeouts, max_concurrent_streams, max_connections, limits, metrics (security-schema.ts). */
  ...securityServerKeys,
  /** Largest request message accepted, in bytes. */
  max_request_bytes: posInt.default(8 * 1024 * 1024),
  /**
   * Serve Chat and StreamChat over gRPC and Connect with the built-in hot path (several times
   * cheaper per call than connect-node's generic handler); false routes every call through
   * connect-node, for debugging or comparison.
   */
  fast_path: z.boolean().default(true),
  /** The HTTP front doors on the same port (README "Drop-in HTTP APIs"); each can be turned off. */
  doors: z
    .strictObject({
      /** POST /v1/chat/completions, GET /v1/models. */
      openai: z.boolean().default(true),
      /** POST /v1/messages. */
      anthropic: z.boolean().default(true),
      /** /api/chat, /api/generate, /api/tags, ... and the /health/providers views. */
      ollama: z.boolean().default(true),
    })
    .prefault({}),
  /** An extra listener (same host, same handler) for clients that assume Ollama's port, e.g. 11434. */
  ollama_port: z.number().int().min(0).max(65_535, "must be <= 65535").optional(),
  /** How long SIGTERM waits for calls in flight before exiting. */
  shutdown_timeout_ms: nonNegInt.default(30_000),
  /**
   * How far V8 lets the old generation grow past what the last full GC kept, in percent
   * (src/server/heap-growth.ts); 0 leaves V8's own factor (up to 4x). Applied by `llmpool serve`.
   */
  heap_growth_percent: nonNegInt.max(300, "must be <= 300").default(20),
  /** The live dashboard at /dashboard (it reads GetPoolStats like any other client). */
  dashboard: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  reload: z
    .strictObject({
      /** Reload when the config file changes (its directory is watched, so atomic saves count). */
      watch: z.boolean().default(true),
      /** Quiet time after a change before reading the file, so multi-step saves apply once. */
      debounce_ms: nonNegInt.max(60_000, "must be <= 60000").default(200),
      /** How often `--config-url` is fetched (its body is compared by checksum). */
      poll_interval_s: z.number().min(1, "must be >= 1").max(86_400, "must be <= 86400").default(30),
    })
    .prefault({}),
});

const poolSchema = z.strictObject({
  strategy: z
    .enum(STRATEGY_NAMES, {
      error: (issue) =>
        `unknown strategy ${JSON.stringify(issue.input)}; expected one of ${STRATEGY_NAMES.join(", ")}`,
    })
    .default("adaptive"),
  /** Knobs of each strategy (balancer/registry.ts; defaults beside each strategy). */
  strategy_options: strategyOptionsSchema.prefault({}),
  /** Prompt-cache affinity (balancer/affinity.ts). */
  affinity: affinityOptions.prefault({}),
  /** Model used when a request names none (default: the first model served). */
  default_model: z.string().optional(),
  /** Embed requests (README "Embeddings"). */
  embeddings: z
    .strictObject({
      /** Most inputs one Embed request may carry. */
      max_inputs: posInt.max(100_000, "must be <= 100000").default(2048),
      /** Longest input, in estimated tokens (most embedding models take 8192). */
      max_input_tokens: posInt.default(8192),
    })
    .prefault({}),
  fallback: z
    .enum(FALLBACK_POLICIES, {
      error: (issue) =>
        `unknown fallback policy ${JSON.stringify(issue.input)}; expected one of ${FALLBACK_POLICIES.join(", ")}`,
    })
    .default("next_available"),
  /** Requests in flight at once across all providers together (0 = no cap; src/limits/pool-caps.ts). */
  max_concurrency: nonNegInt.default(0),
  /** Requests per minute admitted across all providers together (0 = no cap). */
  rpm: nonNegInt.default(0),
  /** Further attempts after the first one fails with a retryable error. */
  max_retries: nonNegInt.max(10, "must be <= 10").default(3),
  retry_backoff_ms: z
    .strictObject({ initial: nonNegInt.default(100), max: nonNegInt.default(2000) })
    .prefault({}),
  health_check_interval_s: z.number().min(5, "must be >= 5").max(300, "must be <= 300").default(30),
  min_healthy: nonNegInt.default(1),
  warmup: z
    .strictObject({
      enabled: z.boolean().default(true),
      concurrency: posInt.default(3),
      /** Longest start-up (or reload) waits for warmup; a blackholed upstream costs no more. */
      timeout_ms: posInt.default(5000),
    })
    .prefault({}),
  queue: z
    .strictObject({ max_size: nonNegInt.default(1000), timeout_ms: nonNegInt.default(30_000) })
    .prefault({}),
  /** retry_same: retries of the failing provider (with backoff) before moving on. */
  retries_per_provider: nonNegInt.max(10, "must be <= 10").default(1),
  /**
   * Retries and fallbacks may add at most `ratio` of the requests seen in the last 10 s (but
   * always `min_per_s` a second), so an outage does not multiply the load on what is left.
   */
  retry_budget: z
    .strictObject({
      enabled: z.boolean().default(true),
      ratio: z.number().min(0).max(10, "must be <= 10").default(0.2),
      min_per_s: nonNeg.default(10),
    })
    .prefault({}),
  /** Active health checks (interval: health_check_interval_s). */
  health_check: z
    .strictObject({
      /** One probe's time limit. */
      timeout_ms: posInt.default(5000),
      /** Failed probes in a row that take a provider out of rotation. */
      unhealthy_threshold: posInt.default(2),
      /** Passed probes in a row that bring it back. */
      healthy_threshold: posInt.default(1),
    })
    .prefault({}),
  /** Passive outlier ejection (Envoy-style): consecutive 5xx or connection errors. */
  outlier_detection: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** 5xx / connection / timeout failures in a row that eject a provider. */
      consecutive_errors: posInt.default(5),
      /** First ejection time; the n-th ejection in a row lasts n times as long. */
      base_ejection_time_ms: posInt.default(30_000),
      /** Longest ejection. */
      max_ejection_time_ms: posInt.default(300_000),
      /** Never eject more than this percentage of the pool's providers at once. */
      max_ejection_percent: z.number().min(0).max(100, "must be <= 100").default(50),
    })
    .prefault({}),
  /** Upstream cool-down after a 429 that names no retry delay. */
  default_cooldown_ms: nonNegInt.default(1000),
  stream: z
    .strictObject({
      /**
       * A stream that breaks after its first token: `resume` continues it on a provider that
       * can continue an assistant prefill (capabilities.prefill) and restarts it elsewhere;
       * `restart` always starts the answer over on another provider (a typed restart chunk);
       * `fail` ends it with UNAVAILABLE (README "Stream resume").
       */
      on_break: z.enum(["resume", "restart", "fail"]).default("resume"),
      /** Older switch: false is on_break "fail". */
      resume: z.boolean().default(true),
      /** Stalled = no chunk for stall_factor × the provider's recent mean gap between chunks. */
      stall_factor: z.number().min(1, "must be >= 1").default(10),
      /** Never call a stream stalled sooner than this. */
      stall_min_ms: posInt.default(3000),
      /** Always call it stalled after this much silence (also used before any gap is known). */
      stall_max_ms: posInt.default(30_000),
    })
    .prefault({}),
});

/** Cost tracking: the ledger, model prices, tenant budgets (README "Cost and budgets"). */
const costSchema = z.strictObject({
  ledger: z
    .strictObject({
      /** sqlite: one embedded file per replica; postgres: one database shared by every replica. */
      backend: z.enum(["sqlite", "postgres"]).default("sqlite"),
      /** SQLite file holding every priced call; ":memory:" keeps nothing across restarts. */
      path: z.string().min(1, "must not be empty").default("./data/llmpool-ledger.db"),
      /**
       * Who writes the SQLite file (backend sqlite): a worker thread (the disk never stalls the
       * event loop) or the event loop itself, in one ~1 ms transaction per batch (no second V8
       * isolate: ~11 MB less resident under load).
       */
      writer: z.enum(["thread", "inline"]).default("thread"),
      /** PostgreSQL URL (backend postgres), usually "${DATABASE_URL}"; never logged with its password. */
      url: z
        .string()
        .min(1, "must not be empty")
        .refine((u) => /^postgres(ql)?:\/\//.test(u) && URL.canParse(u), "must be a postgres:// or postgresql:// URL")
        .optional(),
      /** Calls per write (one statement or transaction). */
      max_batch: posInt.max(100_000, "must be <= 100000").default(1024),
      /** Calls kept in memory while the database is unreachable; past it the oldest are dropped. */
      max_pending: posInt.default(200_000),
      /** Calls are written in batches at most this far apart (a crash loses at most this much). */
      flush_interval_ms: posInt.max(60_000, "must be <= 60000").default(1000),
      /** Per-call rows older than this are deleted (0 = keep forever); daily totals are kept. */
      retention_days: nonNegInt.default(90),
    })
    .superRefine((l, ctx) => {
      if (l.backend === "postgres" && !l.url) ctx.addIssue({ code: "custom", path: ["url"], message: "is required when backend is postgres" });
    })
    .prefault({}),
  /** Upstream model name -> prices, for every provider (over the built-in table). */
  prices: z.record(z.string().min(1), modelPriceSchema).default({}),
  budgets: z
    .strictObject({
      /** `metadata.tenant` -> limits; "*" applies to every tenant not listed (each separately). */
      tenants: z.record(z.string(), budgetSchema).default({}),
    })
    .prefault({}),
});

const logSchema = z.strictObject({
  level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export const configSchema = z
  .strictObject({
    server: serverSchema.prefault({}),
    pool: poolSchema.prefault({}),
    log: logSchema.prefault({}),
    cost: costSchema.prefault({}),
    /** Shared limits, budgets and spend (src/state, README "Running several replicas"). */
    state: stateSchema.prefault({}),
    cache: cacheSchema.prefault({}),
    telemetry: telemetrySchema.prefault({}),
    providers: z.array(providerSchema).min(1, "at least one provider is required"),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.pool.retry_backoff_ms.max < cfg.pool.retry_backoff_ms.initial) {
      ctx.addIssue({
        code: "custom",
        path: ["pool", "retry_backoff_ms", "max"],
        message: "must be >= initial",
      });
    }
    if (cfg.pool.stream.stall_max_ms < cfg.pool.stream.stall_min_ms) {
      ctx.addIssue({ code: "custom", path: ["pool", "stream", "stall_max_ms"], message: "must be >= stall_min_ms" });
    }
    if (cfg.pool.outlier_detection.max_ejection_time_ms < cfg.pool.outlier_detection.base_ejection_time_ms) {
      ctx.addIssue({
        code: "custom",
        path: ["pool", "outlier_detection", "max_ejection_time_ms"],
        message: "must be >= base_ejection_time_ms",
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type PoolConfig = Config["pool"];
export type ServerConfig = Config["server"];
export type RequestLimits = ServerConfig["limits"];
export type StrategyName = (typeof STRATEGY_NAMES)[number];
export type ProviderType = (typeof PROVIDER_TYPES)[number];
export type MockConfig = z.infer<typeof mockSchema>;
export type CostConfig = Config["cost"];
export type { StateConfig } from "./state-schema.js";
export type { CacheConfig } from "./cache-schema.js";
export type { TracingConfig } from "./telemetry-schema.js";
export type BudgetConfig = z.infer<typeof budgetSchema>;
export type ModelPriceConfig = z.infer<typeof modelPriceSchema>;
export type CircuitBreakerConfig = z.infer<typeof circuitBreakerSchema>;
export type OutlierConfig = PoolConfig["outlier_detection"];
export type StreamConfig = PoolConfig["stream"];
