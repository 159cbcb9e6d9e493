/**
 * The strategy registry: one table from a name (config `pool.strategy`, request
 * `routing.strategy`, a loadbalance composite's `strategy`) to that strategy's config parser
 * (a zod schema, its defaults beside the strategy's code) and its factory. The config section
 * `pool.strategy_options` is derived from the same table, so a strategy added here is
 * configurable, validated and documented by its schema at once.
 */
import { z } from "zod";
import { adaptiveOptions, createAdaptive } from "./adaptive.js";
import { withAffinity, type AffinityOptions } from "./affinity.js";
import { costOptions, createCost } from "./cost.js";
import { createFastest, fastestOptions } from "./fastest.js";
import { createLeastConnections, leastConnectionsOptions } from "./least-connections.js";
import { STRATEGY_NAMES, type StrategyName } from "./names.js";
import { createP2c, p2cOptions } from "./p2c.js";
import { createPriority, priorityOptions } from "./priority.js";
import { createRacing, racingOptions } from "./racing-strategy.js";
import { createRandom, randomOptions } from "./random.js";
import { createRoundRobin, roundRobinOptions } from "./round-robin.js";
import { createSlo, sloOptions } from "./slo.js";
import type { Strategy } from "./strategy.js";
import { createWeightedRoundRobin, weightedRoundRobinOptions } from "./weighted-round-robin.js";

/** Builds strategies another one delegates to (racing's `select`, priority's `within`). */
type Make = (name: StrategyName) => Strategy;

interface Definition<S extends z.ZodType> {
  /** `pool.strategy_options.<name>`, defaults included. */
  options: S;
  create(options: z.output<S>, make: Make): Strategy;
}

const define = <S extends z.ZodType>(options: S, create: (o: z.output<S>, make: Make) => Strategy): Definition<S> => ({ options, create });

const STRATEGIES = {
  round_robin: define(roundRobinOptions, () => createRoundRobin()),
  weighted_round_robin: define(weightedRoundRobinOptions, () => createWeightedRoundRobin()),
  random: define(randomOptions, (o) => createRandom(o)),
  least_connections: define(leastConnectionsOptions, (o) => createLeastConnections(o)),
  p2c: define(p2cOptions, (o) => createP2c(o)),
  adaptive: define(adaptiveOptions, (o) => createAdaptive(o)),
  fastest: define(fastestOptions, (o) => createFastest(o)),
  priority: define(priorityOptions, (o, make) => createPriority(o, make)),
  cost: define(costOptions, (o) => createCost(o)),
  slo: define(sloOptions, (o) => createSlo(o)),
  racing: define(racingOptions, (o, make) => createRacing(o, make)),
} satisfies Record<StrategyName, Definition<z.ZodType>>;

type Table = typeof STRATEGIES;

/** `pool.strategy_options` (and a composite's `strategy_options`): one section per strategy. */
export const strategyOptionsSchema = z.strictObject(
  Object.fromEntries(Object.entries(STRATEGIES).map(([name, d]) => [name, (d.options as z.ZodType<unknown, object>).prefault({})])) as {
    [K in StrategyName]: z.ZodPrefault<Table[K]["options"]>;
  },
);
export type StrategyOptions = z.infer<typeof strategyOptionsSchema>;

/** Every default, parsed once. */
export const DEFAULT_STRATEGY_OPTIONS: StrategyOptions = strategyOptionsSchema.parse({});

export function availableStrategies(): string[] {
  return [...STRATEGY_NAMES];
}

export function hasStrategy(name: string): name is StrategyName {
  return Object.prototype.hasOwnProperty.call(STRATEGIES, name);
}

/**
 * A fresh strategy instance (strategies keep per-instance state such as round-robin
 * positions and hedge budgets), configured from `options`. With `affinity` enabled it is
 * wrapped in the prompt-cache affinity layer.
 */
export function createStrategy(
  name: StrategyName,
  options: StrategyOptions = DEFAULT_STRATEGY_OPTIONS,
  affinity?: AffinityOptions,
): Strategy {
  const make: Make = (n) => {
    const d = STRATEGIES[n] as Definition<z.ZodType>;
    if (!d) throw new Error(`strategy ${n} is not available`);
    return d.create(options[n], make);
  };
  const s = make(name);
  return affinity?.enabled ? withAffinity(s, affinity) : s;
}
