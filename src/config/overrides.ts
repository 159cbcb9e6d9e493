/**
 * Common settings from flags and LLMPOOL_* environment variables, applied over the file
 * (flag > environment > file > default) before validation, so a bad value is reported like
 * any other config problem.
 */
export interface Overrides {
  port?: string;
  host?: string;
  strategy?: string;
  fallback?: string;
  maxRetries?: string;
  warmup?: boolean;
  healthCheckInterval?: string;
  logLevel?: string;
  warmupConcurrency?: string;
  minHealthy?: string;
  /** Comma-separated gateway keys (server.auth.api_keys), e.g. for containers. */
  apiKeys?: string;
}

/** Each override: where it goes in the config, its env variable, and how to convert it. */
const TABLE: { key: keyof Overrides; path: [string, ...string[]]; env: string; kind: "number" | "string" | "bool" | "list" }[] = [
  { key: "port", path: ["server", "port"], env: "LLMPOOL_PORT", kind: "number" },
  { key: "host", path: ["server", "host"], env: "LLMPOOL_HOST", kind: "string" },
  { key: "strategy", path: ["pool", "strategy"], env: "LLMPOOL_STRATEGY", kind: "string" },
  { key: "fallback", path: ["pool", "fallback"], env: "LLMPOOL_FALLBACK", kind: "string" },
  { key: "maxRetries", path: ["pool", "max_retries"], env: "LLMPOOL_MAX_RETRIES", kind: "number" },
  { key: "warmup", path: ["pool", "warmup", "enabled"], env: "LLMPOOL_WARMUP", kind: "bool" },
  { key: "healthCheckInterval", path: ["pool", "health_check_interval_s"], env: "LLMPOOL_HEALTH_CHECK_INTERVAL", kind: "number" },
  { key: "logLevel", path: ["log", "level"], env: "LLMPOOL_LOG_LEVEL", kind: "string" },
  { key: "warmupConcurrency", path: ["pool", "warmup", "concurrency"], env: "LLMPOOL_WARMUP_CONCURRENCY", kind: "number" },
  { key: "minHealthy", path: ["pool", "min_healthy"], env: "LLMPOOL_MIN_HEALTHY", kind: "number" },
  { key: "apiKeys", path: ["server", "auth", "api_keys"], env: "LLMPOOL_API_KEYS", kind: "list" },
];

function convert(v: string | boolean, kind: "number" | "string" | "bool" | "list"): unknown {
  if (typeof v === "boolean") return v;
  if (kind === "list") return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (kind === "number") {
    const n = Number(v);
    return v.trim() !== "" && Number.isFinite(n) ? n : v; // a non-number stays a string: validation names it
  }
  if (kind === "bool") return !/^(0|false|no|off)$/i.test(v);
  return v;
}

export function applyOverrides(raw: Record<string, unknown>, flags: Overrides, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const o of TABLE) {
    const value = flags[o.key] ?? env[o.env];
    if (value === undefined || value === "") continue;
    let node = out as Record<string, unknown>;
    for (const seg of o.path.slice(0, -1)) {
      const child = node[seg];
      if (!child || typeof child !== "object" || Array.isArray(child)) node[seg] = {};
      node = node[seg] as Record<string, unknown>;
    }
    node[o.path[o.path.length - 1]!] = convert(value, o.kind);
  }
  return out;
}
