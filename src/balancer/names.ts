/**
 * Strategy names accepted in `pool.strategy`, `routing.strategy` and a loadbalance
 * composite's `strategy` (re-exported by config/schema.ts, so there is one list).
 */
export const STRATEGY_NAMES = [
  "round_robin",
  "weighted_round_robin",
  "least_connections",
  "random",
  "p2c",
  "adaptive",
  "fastest",
  "priority",
  "cost",
  "slo",
  "racing",
] as const;

export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Strategies that pick one endpoint per attempt (what racing and priority delegate to). */
export const SINGLE_PICK_STRATEGIES = STRATEGY_NAMES.filter((n) => n !== "racing" && n !== "priority") as Exclude<
  StrategyName,
  "racing" | "priority"
>[];
