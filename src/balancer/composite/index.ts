/**
 * Composite provider types for the provider registry: `racing`, `fallback` and `loadbalance`
 * combine other configured providers (`members`) behind the same Provider interface, so pools
 * nest: a racing pair inside a weighted pool, a fallback chain of pools. Members and cycles
 * are checked at config load (config/semantic.ts); the checks here are per type.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import type { AdapterDeps, AdapterFactory } from "../../providers/adapter-factory.js";
import type { Provider } from "../../core/provider.js";
import { systemClock } from "../../util/clock.js";
import { createStrategy, DEFAULT_STRATEGY_OPTIONS } from "../registry.js";
import type { MemberEndpoint } from "./members.js";
import { RacingComposite } from "./racing-composite.js";
import { SequentialComposite } from "./sequential-composite.js";

export type { MemberEndpoint } from "./members.js";

/** A loadbalance composite's strategy when it names none. */
export const DEFAULT_LOADBALANCE_STRATEGY = "adaptive";

function common(cfg: ProviderConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (cfg.api_key) problems.push({ path: "api_key", message: `not used by type ${cfg.type} (set it on the members)` });
  if (cfg.mock) problems.push({ path: "mock", message: "only for type mock" });
  if (cfg.discover_models) problems.push({ path: "discover_models", message: `not supported by type ${cfg.type}` });
  const models = Array.isArray(cfg.models) ? cfg.models : Object.keys(cfg.models);
  if (models.length === 0) problems.push({ path: "models", message: "list the models this composite serves" });
  return problems;
}

function members(cfg: ProviderConfig, deps: AdapterDeps): MemberEndpoint[] {
  if (!deps.memberEndpoint) throw new Error(`composite ${cfg.name} needs member endpoints`);
  return (cfg.members ?? []).map((m) => deps.memberEndpoint!(m));
}

const options = (cfg: ProviderConfig, deps: AdapterDeps) =>
  cfg.strategy_options ?? deps.pool?.strategy_options ?? DEFAULT_STRATEGY_OPTIONS;

export const COMPOSITE_ADAPTERS: Record<"racing" | "fallback" | "loadbalance", AdapterFactory> = {
  racing: {
    validate(cfg) {
      const problems = common(cfg);
      if (cfg.strategy) problems.push({ path: "strategy", message: "only for type loadbalance (racing options go in strategy_options.racing)" });
      if ((cfg.members?.length ?? 0) === 1) problems.push({ path: "members", message: "a race needs at least two members" });
      return problems;
    },
    create(cfg, deps): Provider {
      return new RacingComposite({
        cfg,
        members: members(cfg, deps),
        clock: deps.clock ?? systemClock,
        random: Math.random,
        strategy: createStrategy("racing", options(cfg, deps)),
        calls: deps.memberCalls,
      });
    },
  },
  fallback: {
    validate(cfg) {
      const problems = common(cfg);
      if (cfg.strategy) problems.push({ path: "strategy", message: "only for type loadbalance (fallback tries members in the order listed)" });
      return problems;
    },
    create(cfg, deps): Provider {
      return new SequentialComposite({ cfg, members: members(cfg, deps), clock: deps.clock ?? systemClock, random: Math.random, calls: deps.memberCalls });
    },
  },
  loadbalance: {
    validate(cfg) {
      const problems = common(cfg);
      if (cfg.strategy === "racing") problems.push({ path: "strategy", message: "use type racing for a racing composite" });
      return problems;
    },
    create(cfg, deps): Provider {
      return new SequentialComposite({
        cfg,
        members: members(cfg, deps),
        clock: deps.clock ?? systemClock,
        random: Math.random,
        strategy: createStrategy(cfg.strategy ?? DEFAULT_LOADBALANCE_STRATEGY, options(cfg, deps)),
        calls: deps.memberCalls,
      });
    },
  },
};
