import { describe, expect, it } from "vitest";
import { ConfigError, validateConfig } from "../config/load.js";
import { availableStrategies, createStrategy, DEFAULT_STRATEGY_OPTIONS } from "./registry.js";

const providers = [{ name: "a", type: "mock", models: ["m"] }];

function problems(pool: Record<string, unknown>): string[] {
  try {
    validateConfig({ pool, providers }, "t", {});
    return [];
  } catch (err) {
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
}

describe("strategy options in the config", () => {
  it("fills every default in one place, with adaptive as the strategy", () => {
    const { config } = validateConfig({ providers }, "t", {});
    expect(config.pool.strategy).toBe("adaptive");
    expect(config.pool.strategy_options).toEqual(DEFAULT_STRATEGY_OPTIONS);
    expect(config.pool.strategy_options.adaptive).toEqual({ error_penalty: 2, inflight_penalty: 0.02, decay_half_life_ms: 10_000, explore_rate: 0.005 });
    expect(config.pool.strategy_options.racing).toMatchObject({ mode: "first_wins", fanout: 2, select: "adaptive", hedge_delay: "p95", hedge_budget: 0.1 });
    expect(config.pool.affinity).toMatchObject({ enabled: true, load_factor: 1.25, min_prefix_tokens: 1024 });
  });

  it("names the path of every bad knob", () => {
    expect(
      problems({
        strategy_options: {
          adaptive: { error_penalty: -1, explore_rate: 2 },
          p2c: { choices: 1 },
          slo: { max_p95_ms: 0 },
          racing: { mode: "photo_finish", hedge_delay: "soon", hedge_budget: 1.5 },
          priority: { within: "priority" },
          fastest: { explore: 0.1 },
        },
        affinity: { load_factor: 1 },
      }),
    ).toEqual(
      expect.arrayContaining([
        "pool.strategy_options.adaptive.error_penalty: must be >= 0",
        "pool.strategy_options.adaptive.explore_rate: must be <= 1",
        "pool.strategy_options.p2c.choices: must be >= 2",
        "pool.strategy_options.slo.max_p95_ms: must be > 0",
        'pool.strategy_options.racing.mode: unknown mode "photo_finish"; expected one of first_wins, hedged, weighted, quality',
        "pool.strategy_options.racing.hedge_budget: must be <= 1 (load must never more than double)",
        expect.stringMatching(/^pool\.strategy_options\.priority\.within: unknown strategy "priority"/),
        "pool.strategy_options.fastest.explore: unknown key",
        "pool.affinity.load_factor: must be > 1",
      ]),
    );
    expect(problems({ strategy_options: { racing: { hedge_delay: "soon" } } })[0]).toMatch(/^pool\.strategy_options\.racing\.hedge_delay: /);
  });

  it("every strategy name builds, with the configured options", () => {
    for (const name of availableStrategies()) expect(createStrategy(name as never).name).toBe(name);
    const { config } = validateConfig({ pool: { strategy: "racing", strategy_options: { racing: { mode: "hedged", hedge_delay: 150 } } }, providers }, "t", {});
    const s = createStrategy("racing", config.pool.strategy_options, config.pool.affinity);
    expect(s.race!.mode).toBe("hedged");
    expect(s.race!.hedgeDelayMs({} as never, {} as never)).toBe(150);
  });
});
