import { describe, expect, it } from "vitest";
import { ConfigError, parseConfigText, validateConfig } from "./load.js";
import { applyOverrides } from "./overrides.js";

const mock = (name: string, extra: Record<string, unknown> = {}) => ({ name, type: "mock", models: ["m"], ...extra });

function problems(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    validateConfig(raw, "t.yaml", env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe("config validation", () => {
  it("fills every default", () => {
    const { config, version } = validateConfig({ providers: [mock("a")] }, "t", {});
    expect(config.server.port).toBe(50051);
    expect(config.pool.max_retries).toBe(3);
    expect(config.pool.retry_backoff_ms).toEqual({ initial: 100, max: 2000 });
    expect(config.providers[0]!.weight).toBe(1);
    expect(config.providers[0]!.circuit_breaker.failure_threshold).toBe(5);
    expect(version).toMatch(/^[0-9a-f]{12}$/);
  });

  it("names the path of each problem", () => {
    const got = problems({
      server: { port: "x", colour: "blue" },
      pool: { strategy: "fastest-ever", max_retries: -1 },
      providers: [
        mock("a"),
        { name: "b", type: "openai", base_url: "not a url", api_key: "k" , models: ["x"] },
        mock("a"),
        { name: "c", type: "telepathy", models: ["x"] },
      ],
    });
    expect(got).toEqual(
      expect.arrayContaining([
        "server.port: Invalid input: expected number, received string",
        "server.colour: unknown key",
        expect.stringMatching(/^pool\.strategy: unknown strategy "fastest-ever"; expected one of round_robin/),
        "pool.max_retries: must be >= 0",
        "providers[1].base_url: not a URL (expected http:// or https://)",
        'providers[2].name: duplicate provider name "a" (also providers[0])',
        expect.stringMatching(/^providers\[3\]\.type: unknown provider type "telepathy"/),
      ]),
    );
  });

  it("interpolates ${VAR} and ${VAR:-default}, and reports unset variables by path", () => {
    const raw = {
      providers: [{ name: "o", type: "openai", api_key: "${KEY}", base_url: "${BASE:-https://example.test/v1}", models: ["m"] }],
    };
    const { config } = validateConfig(raw, "t", { KEY: "sk-live-abcdefghijkl" });
    expect(config.providers[0]!.api_key).toBe("sk-live-abcdefghijkl");
    expect(config.providers[0]!.base_url).toBe("https://example.test/v1");
    expect(problems(raw, {})).toContain("providers[0].api_key: environment variable KEY is not set");
  });

  it("requires members for composites and rejects cycles", () => {
    const got = problems({
      providers: [
        mock("a"),
        { name: "x", type: "fallback", members: ["y"], models: ["m"] },
        { name: "y", type: "fallback", members: ["x", "nope"], models: ["m"] },
        { name: "z", type: "racing", models: ["m"] },
      ],
    });
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^providers\[\d\]\.members: cycle: (x -> y -> x|y -> x -> y)$/),
        'providers[2].members[1]: no provider named "nope"',
        "providers[3].members: required for type racing",
      ]),
    );
  });

  it("racing modes: grace_period_ms within the composite's timeout_ms, known modes and scorers, errors naming the path", () => {
    const race = (racing: object, extra: object = {}) => ({
      providers: [mock("a"), mock("b"), { name: "r", type: "racing", members: ["a", "b"], models: ["m"], timeout_ms: 1000, strategy_options: { racing }, ...extra }],
    });
    expect(problems(race({ mode: "weighted", grace_period_ms: 1500 }))).toContain(
      "providers[2].strategy_options.racing.grace_period_ms: 1500 is above this timeout_ms (1000)",
    );
    expect(problems(race({ mode: "quality", grace_period_ms: -5 }))).toContain("providers[2].strategy_options.racing.grace_period_ms: must be >= 0");
    expect(problems(race({ mode: "photo_finish" }))[0]).toMatch(/^providers\[2\]\.strategy_options\.racing\.mode: unknown mode "photo_finish"; expected one of first_wins, hedged, weighted, quality$/);
    expect(problems(race({ mode: "quality", scorer: "best_vibes" }))[0]).toMatch(/^providers\[2\]\.strategy_options\.racing\.scorer: unknown scorer "best_vibes"; expected one of .*longest_complete/);
    // A composite without its own options is checked against the pool's.
    const inherited = { pool: { strategy_options: { racing: { mode: "weighted", grace_period_ms: 5000 } } }, providers: race({}).providers.map((p) => ({ ...p, strategy_options: undefined })) };
    expect(problems(inherited)).toContain("pool.strategy_options.racing.grace_period_ms: 5000 is above racing composite r's timeout_ms (1000)");
    expect(problems(race({ mode: "weighted", grace_period_ms: 1000 }))).toEqual([]);
  });

  it("requires an API key for hosted OpenAI and models or discovery", () => {
    expect(problems({ providers: [{ name: "o", type: "openai", models: ["m"] }] })).toContain(
      "providers[0].api_key: required for type openai",
    );
    expect(problems({ providers: [{ name: "m", type: "mock" }] })).toContain(
      "providers[0].models: list at least one model (or embedding_models), or set discover_models: true",
    );
  });

  it("rejects YAML syntax errors and duplicate keys with a position", () => {
    expect(() => parseConfigText("pool:\n  strategy: a\n  strategy: b\n", "t")).toThrow(ConfigError);
    expect(() => parseConfigText("pool: [\n", "t")).toThrow(/line/);
  });

  it("applies overrides: flag > environment > file", () => {
    const raw = { pool: { strategy: "random" }, providers: [mock("a")] };
    const env = { LLMPOOL_STRATEGY: "p2c", LLMPOOL_PORT: "6000", LLMPOOL_WARMUP: "false" };
    const fromEnv = applyOverrides(raw, {}, env) as any;
    expect(fromEnv.pool.strategy).toBe("p2c");
    expect(fromEnv.server.port).toBe(6000);
    expect(fromEnv.pool.warmup.enabled).toBe(false);
    const fromFlag = applyOverrides(raw, { strategy: "round_robin", healthCheckInterval: "12" }, env) as any;
    expect(fromFlag.pool.strategy).toBe("round_robin");
    expect(fromFlag.pool.health_check_interval_s).toBe(12);
    expect(raw.pool.strategy).toBe("random");
    const pool = (applyOverrides(raw, { minHealthy: "2" }, { LLMPOOL_WARMUP_CONCURRENCY: "8", LLMPOOL_MIN_HEALTHY: "5" }) as any).pool;
    expect(pool.warmup.concurrency).toBe(8);
    expect(pool.min_healthy).toBe(2);
    expect(problems(applyOverrides(raw, { port: "eighty" }, {}))).toContain(
      "server.port: Invalid input: expected number, received string",
    );
  });

  it("fills and checks the resilience settings", () => {
    const { config } = validateConfig({ providers: [mock("a")] }, "t", {});
    expect(config.pool.stream).toEqual({ on_break: "resume", resume: true, stall_factor: 10, stall_min_ms: 3000, stall_max_ms: 30_000 });
    expect(config.pool.retry_budget).toEqual({ enabled: true, ratio: 0.2, min_per_s: 10 });
    expect(config.pool.outlier_detection.max_ejection_percent).toBe(50);
    expect(config.providers[0]!.circuit_breaker).toMatchObject({ failure_ratio: 0.5, window_ms: 30_000, min_requests: 20, half_open_requests: 1 });
    expect(config.providers[0]!.health_check).toEqual({ enabled: true, probe: "default" });
    expect(config.server.reload).toEqual({ watch: true, debounce_ms: 200, poll_interval_s: 30 });
    expect(
      problems({
        pool: {
          fallback: "sideways",
          health_check_interval_s: 1,
          stream: { stall_min_ms: 5000, stall_max_ms: 1000, stall_factor: 0 },
          outlier_detection: { base_ejection_time_ms: 10_000, max_ejection_time_ms: 5000, max_ejection_percent: 150 },
          retry_budget: { ratio: -1 },
        },
        providers: [mock("a", { circuit_breaker: { failure_ratio: 2, window_ms: 10 }, health_check: { probe: "ping", model: "nope" } })],
      }),
    ).toEqual([
      'pool.fallback: unknown fallback policy "sideways"; expected one of none, next_available, retry_same, best_alternative',
      "pool.health_check_interval_s: must be >= 5",
      "pool.retry_budget.ratio: Too small: expected number to be >=0",
      "pool.outlier_detection.max_ejection_percent: must be <= 100",
      "pool.stream.stall_factor: must be >= 1",
      "providers[0].circuit_breaker.failure_ratio: must be <= 1",
      "providers[0].circuit_breaker.window_ms: must be >= 1000",
      "providers[0].health_check.probe: expected default or chat",
    ]);
    expect(problems({ providers: [mock("a", { health_check: { probe: "chat", model: "nope" } })] })).toEqual([
      "providers[0].health_check.model: not one of this provider's models (m)",
    ]);
  });
});
