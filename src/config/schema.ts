/**
 * The configuration schema (DESIGN.md §3): snake_case keys, every default in one place,
 * unknown keys rejected. Types are derived from the schema, so the parser and the code that
 * reads the config cannot drift apart.
 */
import { z } from "zod";
import { affinityOptions } from "../balancer/affinity.js";
import { STRATEGY_NAMES } from "../balancer/names.js";
import { strategyOptionsSchema } from "../balancer/registry.js";

/** Strategy names accepted in `pool.strategy` and `routing.strategy` (one list, in balancer/names.ts). */
export { STRATEGY_NAMES };

export const FALLBACK_POLICIES = ["none", "next_available", "retry_same", "best_alternative"] as const;

/** Provider `type`s: wire protocols and OpenAI-compatible presets, then composites. */
export const ADAPTER_TYPES = [
  "openai",
  "azure",
  "anthropic",
  "gemini",
  "ollama",
  "ollama-openai",
  "cohere",
  "groq",
  "together",
  "openrouter",
  "lmstudio",
  "vllm",
  "bedrock",
  "mock",
] as const;
export const COMPOSITE_TYPES = ["racing", "fallback", "loadbalance"] as const;
export const PROVIDER_TYPES = [...ADAPTER_TYPES, ...COMPOSITE_TYPES] as const;

const isUrl = (v: string) => {
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
};

const url = z.string().refine(isUrl, "not a URL (expected http:// or https://)");
const nonNeg = z.number().min(0, "must be >= 0");
const posInt = z.number().int("must be an integer").min(1, "must be >= 1");
const nonNegInt = z.number().int("must be an integer").min(0, "must be >= 0");

/** One model's prices, USD per million tokens. */
const modelPriceSchema = z.strictObject({
  input_per_1m: nonNeg,
  output_per_1m: nonNeg,
  /** Prompt tokens served from the provider's cache (defaults to input_per_1m). */
  cached_input_per_1m: nonNeg.optional(),
});

/**
 * A provider's prices. The flat keys price every model it serves; `models` prices single
 * upstream models. Unset, the built-in table (src/cost/price-table.ts) and `cost.prices`
 * apply; see src/cost/pricer.ts for the order.
 */
const pricingSchema = z.strictObject({
  /** USD per million prompt tokens. */
  input_per_1m: nonNeg.optional(),
  /** USD per million completion tokens. */
  output_per_1m: nonNeg.optional(),
  /** USD per million prompt tokens served from the provider's cache (defaults to input). */
  cached_input_per_1m: nonNeg.optional(),
  /** Upstream model name -> prices, for this provider only. */
  models: z.record(z.string().min(1), modelPriceSchema).optional(),
});

/** USD spending limits per UTC day and calendar month (UTC); unset = no limit. */
const budgetSchema = z.strictObject({
  daily_usd: z.number().gt(0, "must be > 0 (omit it for no limit)").optional(),
  monthly_usd: z.number().gt(0, "must be > 0 (omit it for no limit)").optional(),
});

const circuitBreakerSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Failures in a row that open the breaker (counted failures: see README, Resilience). */
  failure_threshold: posInt.default(5),
  /** How long the breaker stays open before letting trial requests through. */
  reset_timeout_ms: posInt.default(30_000),
  /**
   * Also open when more than this share of the calls in `window_ms` failed (0 = off). A ratio
   * catches a provider that fails often but never `failure_threshold` times in a row.
   */
  failure_ratio: z.number().min(0).max(1, "must be <= 1").default(0.5),
  /** The rolling window the ratio is computed over. */
  window_ms: z.number().int("must be an integer").min(1000, "must be >= 1000").default(30_000),
  /** Calls the window must hold before the ratio can open the breaker (few calls prove little). */
  min_requests: posInt.default(20),
  /** Trial requests let through at once while half-open; the first to finish decides. */
  half_open_requests: posInt.default(1),
});

const providerHealthCheckSchema = z.strictObject({
  /** Probe this provider every `pool.health_check_interval_s`. */
  enabled: z.boolean().default(true),
  /**
   * `default`: the adapter's own cheap check (GET /models for OpenAI-compatible APIs);
   * `chat`: a one-token chat request (for upstreams whose only reliable check is a real call).
   */
  probe: z.enum(["default", "chat"], { error: () => "expected default or chat" }).default("default"),
  /** Public model the `chat` probe asks for (default: the provider's first model). */
  model: z.string().min(1).optional(),
});

const capabilitiesSchema = z.strictObject({
  vision: z.boolean().optional(),
  tools: z.boolean().optional(),
  /** Context window in tokens (0 = unknown: any prompt is allowed). */
  context_window: nonNegInt.optional(),
});

const mockSchema = z.strictObject({
  /** Base latency of a reply (unary) or before the first chunk (stream). */
  latency_ms: nonNeg.default(20),
  /** Uniform extra latency in [0, jitter_ms). */
  jitter_ms: nonNeg.default(0),
  /** Share of calls that fail with a retryable 503-like error, in [0, 1]. */
  failure_rate: z.number().min(0).max(1, "must be <= 1").default(0),
  /** Reply text; "{prompt}" is replaced by the last user message, "{provider}" by the name. */
  reply: z.string().default("This is {provider}, a mock provider. You said: {prompt}"),
  /** Delay between stream chunks. */
  chunk_delay_ms: nonNeg.default(5),
  /** Words per stream chunk. */
  words_per_chunk: posInt.default(2),
  /** Seed for the failure/jitter random source (deterministic runs). */
  seed: z.number().int().optional(),
});

/** `models:` is a list of names or a map of public name (or glob) -> upstream name. */
const modelsSchema = z.union([
  z.array(z.string().min(1, "model name must not be empty")),
  z.record(z.string(), z.string().min(1, "upstream model name must not be empty")),
]);

export const providerSchema = z.strictObject({
  /** Unique; shown in responses, stats and metrics. */
  name: z
    .string()
    .min(1, "must not be empty")
    .max(64, "at most 64 characters")
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "letters, digits and . _ : - only"),
  type: z.enum(PROVIDER_TYPES, {
    error: (issue) =>
      `unknown provider type ${JSON.stringify(issue.input)}; expected one of ${PROVIDER_TYPES.join(", ")}`,
  }),
  /** Set false to keep a provider configured but out of rotation. */
  enabled: z.boolean().default(true),
  base_url: url.optional(),
  api_key: z.string().optional(),
  /** Extra HTTP headers sent upstream with every call. */
  headers: z.record(z.string(), z.string()).default({}),
  models: modelsSchema.default([]),
  /** Ask the upstream for its models at start-up and serve them too. */
  discover_models: z.boolean().default(false),
  weight: z.number().gt(0, "must be > 0").default(1),
  /** Lower tiers first (strategy `priority`). */
  priority: z.number().int("must be an integer").default(1),
  /** Concurrent upstream calls allowed (0 = unlimited). */
  max_concurrency: nonNegInt.default(0),
  /** Requests per minute (0 = unlimited). */
  rpm: nonNegInt.default(0),
  /** Requests per day (0 = unlimited). */
  rpd: nonNegInt.default(0),
  /** Tokens per minute (0 = unlimited). */
  tpm: nonNegInt.default(0),
  /** Upper bound for one upstream attempt (for streams: until the first token). */
  timeout_ms: posInt.default(60_000),
  /** TCP/TLS connect timeout. */
  connect_timeout_ms: posInt.default(10_000),
  /** Keep-alive connections kept per upstream origin. */
  connections: posInt.default(128),
  /** max_tokens sent when the caller gives none and the API requires it (Anthropic). */
  default_max_tokens: posInt.default(4096),
  pricing: pricingSchema.optional(),
  /** Spending limits for this provider; past one it leaves rotation until the period resets. */
  budget: budgetSchema.optional(),
  circuit_breaker: circuitBreakerSchema.prefault({}),
  health_check: providerHealthCheckSchema.prefault({}),
  capabilities: capabilitiesSchema.prefault({}),
  /** Settings of `type: mock`. */
  mock: mockSchema.optional(),
  /** Composite providers: names of the providers they combine. */
  members: z.array(z.string().min(1)).optional(),
  // Type-specific keys (each adapter's validate() checks they fit its type).
  /**
   * azure: the `api-version` query parameter (default 2024-10-21, the GA version); anthropic:
   * the `anthropic-version` header (default 2023-06-01).
   */
  api_version: z.string().min(1, "must not be empty").optional(),
  /** azure: upstream model name -> deployment name (a model not listed is its own deployment). */
  deployments: z.record(z.string(), z.string().min(1, "deployment name must not be empty")).optional(),
  /** bedrock: AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION). */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "not an AWS region (e.g. us-east-1)").optional(),
  /** bedrock: access key id (default: AWS_ACCESS_KEY_ID). */
  aws_access_key_id: z.string().min(1, "must not be empty").optional(),
  /** bedrock: secret access key (default: AWS_SECRET_ACCESS_KEY). Redacted everywhere. */
  aws_secret_access_key: z.string().min(1, "must not be empty").optional(),
  /** bedrock: session token for temporary credentials (default: AWS_SESSION_TOKEN). */
  aws_session_token: z.string().min(1, "must not be empty").optional(),
  /** ollama: how long the model stays loaded after a request ("5m", "1h", -1 = forever). */
  keep_alive: z.union([z.string().min(1), z.number().int()]).optional(),
  /** loadbalance composites: how a member is chosen (default adaptive). */
  strategy: z
    .enum(STRATEGY_NAMES, {
      error: (issue) =>
        `unknown strategy ${JSON.stringify(issue.input)}; expected one of ${STRATEGY_NAMES.join(", ")}`,
    })
    .optional(),
  /** Composites: strategy knobs for choosing members, replacing `pool.strategy_options`. */
  strategy_options: strategyOptionsSchema.optional(),
});

const serverSchema = z.strictObject({
  port: z.number().int().min(0).max(65_535, "must be <= 65535").default(50051),
  host: z.string().min(1).default("0.0.0.0"),
  tls: z
    .strictObject({
      cert_file: z.string().min(1),
      key_file: z.string().min(1),
    })
    .optional(),
  cors: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Origins allowed to call from a browser; "*" allows any. */
      allowed_origins: z.array(z.string()).default(["*"]),
      /** Extra request headers browsers may send. */
      allowed_headers: z.array(z.string()).default([]),
      /** Extra response headers browsers may read. */
      exposed_headers: z.array(z.string()).default([]),
      max_age_s: nonNegInt.default(7200),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** When non-empty, LLMPool RPCs need `authorization: Bearer <key>` or `x-api-key`. */
      api_keys: z.array(z.string().min(8, "gateway keys must be at least 8 characters")).default([]),
    })
    .prefault({}),
  /** Largest request message accepted, in bytes. */
  max_request_bytes: posInt.default(8 * 1024 * 1024),
  /**
   * Serve Chat and StreamChat over gRPC and Connect with the built-in hot path (several times
   * cheaper per call than connect-node's generic handler); false routes every call through
   * connect-node, for debugging or comparison.
   */
  fast_path: z.boolean().default(true),
  /** How long SIGTERM waits for calls in flight before exiting. */
  shutdown_timeout_ms: nonNegInt.default(30_000),
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
  fallback: z
    .enum(FALLBACK_POLICIES, {
      error: (issue) =>
        `unknown fallback policy ${JSON.stringify(issue.input)}; expected one of ${FALLBACK_POLICIES.join(", ")}`,
    })
    .default("next_available"),
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
      /** Continue a stream that breaks after its first token on another provider. */
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
      /** SQLite file holding every priced call; ":memory:" keeps nothing across restarts. */
      path: z.string().min(1, "must not be empty").default("./data/llmpool-ledger.db"),
      /** Calls are written in batches at most this far apart (a crash loses at most this much). */
      flush_interval_ms: posInt.max(60_000, "must be <= 60000").default(1000),
      /** Per-call rows older than this are deleted (0 = keep forever); daily totals are kept. */
      retention_days: nonNegInt.default(90),
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
export type StrategyName = (typeof STRATEGY_NAMES)[number];
export type ProviderType = (typeof PROVIDER_TYPES)[number];
export type MockConfig = z.infer<typeof mockSchema>;
export type CostConfig = Config["cost"];
export type BudgetConfig = z.infer<typeof budgetSchema>;
export type ModelPriceConfig = z.infer<typeof modelPriceSchema>;
export type CircuitBreakerConfig = z.infer<typeof circuitBreakerSchema>;
export type OutlierConfig = PoolConfig["outlier_detection"];
export type StreamConfig = PoolConfig["stream"];
