/**
 * The schema of one `providers[]` entry: its type, upstream, models, limits, prices, budget,
 * breaker, health check and capabilities (and the small validators the rest of the schema
 * shares). Split from schema.ts, which assembles the whole config.
 */
import { z } from "zod";
import { STRATEGY_NAMES } from "../balancer/names.js";
import { strategyOptionsSchema } from "../balancer/registry.js";

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

export const isUrl = (v: string) => {
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
};

/** Why a URL is refused, saying which part is wrong where it can ("port 99999 out of range"). */
export function urlProblem(v: string): string | undefined {
  if (isUrl(v)) return undefined;
  const m = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]*\]|[^/:?#]*)(?::([^/?#]*))?/i.exec(v);
  if (!m) return "not a URL (expected http:// or https://)";
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "http" && scheme !== "https") return `scheme ${scheme}:// not supported (expected http:// or https://)`;
  if (!m[2]) return "no host name after ://";
  const port = m[3];
  if (port !== undefined) {
    if (!/^\d+$/.test(port)) return `port ${JSON.stringify(port)} is not a number`;
    if (Number(port) < 1 || Number(port) > 65_535) return `port ${port} out of range 1-65535`;
  }
  return `not a valid URL (host ${JSON.stringify(m[2])})`;
}

export const url = z.string().superRefine((v, ctx) => {
  const problem = urlProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
export const nonNeg = z.number().min(0, "must be >= 0");
export const posInt = z.number().int("must be an integer").min(1, "must be >= 1");
export const nonNegInt = z.number().int("must be an integer").min(0, "must be >= 0");

/** One model's prices, USD per million tokens. */
export const modelPriceSchema = z.strictObject({
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
export const pricingSchema = z.strictObject({
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
export const budgetSchema = z.strictObject({
  daily_usd: z.number().gt(0, "must be > 0 (omit it for no limit)").optional(),
  monthly_usd: z.number().gt(0, "must be > 0 (omit it for no limit)").optional(),
});

export const circuitBreakerSchema = z.strictObject({
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

export const providerHealthCheckSchema = z.strictObject({
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

export const capabilitiesSchema = z.strictObject({
  vision: z.boolean().optional(),
  tools: z.boolean().optional(),
  /** Context window in tokens (0 = unknown: any prompt is allowed). */
  context_window: nonNegInt.optional(),
  /**
   * Whether the upstream continues an assistant prefill (default: true for anthropic, bedrock,
   * vllm and mock, whose APIs document it; false for every other type).
   */
  prefill: z.boolean().optional(),
});

/** Default `max_response_bytes`: a JSON answer larger than this is refused. */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Default `max_stream_event_bytes`: one SSE event, NDJSON line or event-stream frame. */
export const DEFAULT_MAX_STREAM_EVENT_BYTES = 1024 * 1024;

export const mockSchema = z.strictObject({
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
export const modelsSchema = z.union([
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
  /** Embedding models (list or alias map, like `models`), kept apart from the chat models. */
  embedding_models: modelsSchema.default([]),
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
  /** Largest non-streamed (JSON) upstream answer read, in bytes; past it the call fails. */
  max_response_bytes: posInt.default(DEFAULT_MAX_RESPONSE_BYTES),
  /** Largest single event of a streamed answer; a stream's total size is not capped. */
  max_stream_event_bytes: posInt.default(DEFAULT_MAX_STREAM_EVENT_BYTES),
  /**
   * max_tokens sent upstream when the request sets none (unset: none is sent, except for
   * anthropic, whose API requires one: 4096 there).
   */
  default_max_tokens: posInt.optional(),
  /** temperature sent upstream when the request sets none (unset: the upstream's default). */
  default_temperature: z.number().min(0, "must be >= 0").max(2, "must be <= 2").optional(),
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
