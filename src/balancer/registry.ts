/**
 * Strategy registry: a name (config `pool.strategy`, request `routing.strategy`, a loadbalance
 * composite's `strategy`) -> a factory taking that strategy's parsed options (options.ts; each
 * strategy file owns its schema and defaults). `createStrategy` also wraps the result in the
 * prompt-cache affinity layer when `pool.affinity` is on.
 */
import { createAdaptive } from "./adaptive.js";
import { withAffinity, type AffinityOptions } from "./affinity.js";
import { createCost } from "./cost.js";
import { createFastest } from "./fastest.js";
import { createLeastConnections } from "./least-connections.js";
import { STRATEGY_NAMES, type StrategyName } from "./names.js";
import { DEFAULT_STRATEGY_OPTIONS, type StrategyOptions } from "./options.js";
import { createP2c } from "./p2c.js";
import { createPriority } from "./priority.js";
import { createRacing } from "./racing.js";
import { createRandom } from "./random.js";
import { createRoundRobin } from "./round-robin.js";
import { createSlo } from "./slo.js";
import type { Strategy } from "./strategy.js";
import { createWeightedRoundRobin } from "./weighted-round-robin.js";

type Factory = (options: StrategyOptions, make: (name: StrategyName) => Strategy) => Strategy;

const FACTORIES: Record<StrategyName, Factory> = {
  round_robin: () => createRoundRobin(),
  weighted_round_robin: () => createWeightedRoundRobin(),
  random: (o) => createRandom(o.random),
  least_connections: (o) => createLeastConnections(o.least_connections),
  p2c: (o) => createP2c(o.p2c),
  adaptive: (o) => createAdaptive(o.adaptive),
  fastest: (o) => createFastest(o.fastest),
  priority: (o, make) => createPriority(o.priority, make),
  cost: (o) => createCost(o.cost),
  slo: (o) => createSlo(o.slo),
  racing: (o, make) => createRacing(o.racing, make),
};

export function availableStrategies(): string[] {
  return [...STRATEGY_NAMES];
}

export function hasStrategy(name: string): name is StrategyName {
  return Object.prototype.hasOwnProperty.call(FACTORIES, name);
}

/**
 * A fresh strategy instance (strategies keep per-instance state such as round-robin
 * positions and hedge budgets). `affinity` wraps it in the affinity layer when enabled.
 */
export function createStrategy(
  name: StrategyName,
  options: StrategyOptions = DEFAULT_STRATEGY_OPTIONS,
  affinity?: AffinityOptions,
): Strategy {
  const make = (n: StrategyName): Strategy => {
    const f = FACTORIES[n];
    if (!f) throw new Error(`strategy ${n} is not available`);
    return f(options, make);
  };
  const s = make(name);
  return affinity?.enabled ? withAffinity(s, affinity) : s;
}
