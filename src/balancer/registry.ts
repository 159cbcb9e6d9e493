/**
 * Strategy registry: a name (config `pool.strategy`, request `routing.strategy`) -> a factory.
 */
import type { StrategyName } from "../config/schema.js";
import { createRoundRobin } from "./round-robin.js";
import type { Strategy } from "./strategy.js";

const FACTORIES: Partial<Record<StrategyName, () => Strategy>> = {
  round_robin: createRoundRobin,
};

export function availableStrategies(): string[] {
  return Object.keys(FACTORIES);
}

export function hasStrategy(name: string): name is StrategyName {
  return Object.prototype.hasOwnProperty.call(FACTORIES, name);
}

export function createStrategy(name: StrategyName): Strategy {
  const f = FACTORIES[name];
  if (!f) throw new Error(`strategy ${name} is not available`);
  return f();
}
