/**
 * `pool.strategy_options`: one section per strategy, each parsed by the schema its strategy
 * file exports, so every knob and its default live beside the code that reads them. A
 * request's `routing.strategy` override uses the same sections.
 */
import { z } from "zod";
import { adaptiveOptions } from "./adaptive.js";
import { costOptions } from "./cost.js";
import { fastestOptions } from "./fastest.js";
import { leastConnectionsOptions } from "./least-connections.js";
import { p2cOptions } from "./p2c.js";
import { priorityOptions } from "./priority.js";
import { racingOptions } from "./racing.js";
import { randomOptions } from "./random.js";
import { roundRobinOptions } from "./round-robin.js";
import { sloOptions } from "./slo.js";
import { weightedRoundRobinOptions } from "./weighted-round-robin.js";

export const strategyOptionsSchema = z.strictObject({
  round_robin: roundRobinOptions.prefault({}),
  weighted_round_robin: weightedRoundRobinOptions.prefault({}),
  random: randomOptions.prefault({}),
  least_connections: leastConnectionsOptions.prefault({}),
  p2c: p2cOptions.prefault({}),
  adaptive: adaptiveOptions.prefault({}),
  fastest: fastestOptions.prefault({}),
  priority: priorityOptions.prefault({}),
  cost: costOptions.prefault({}),
  slo: sloOptions.prefault({}),
  racing: racingOptions.prefault({}),
});
export type StrategyOptions = z.infer<typeof strategyOptionsSchema>;

/** Every default, parsed once. */
export const DEFAULT_STRATEGY_OPTIONS: StrategyOptions = strategyOptionsSchema.parse({});
