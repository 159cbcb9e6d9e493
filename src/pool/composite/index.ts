/**
 * Composite provider types, built by the pool beside its endpoints (src/pool/build.ts), not
 * registered as provider adapters: `racing`, `fallback` and `loadbalance` combine other
 * configured providers (`members`) behind the same Provider interface, so pools nest: a racing
 * pair inside a weighted pool, a fallback chain of pools. Members and cycles are checked at
 * config load (config/semantic.ts); the checks here are per type.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import type { PoolConfig } from "../../config/schema.js";
import type { MemberCalls } from "../../core/member-calls.js";
import type { Provider } from "../../core/provider.js";
import type { Clock } from "../../util/clock.js";
import { systemClock } from "../../util/clock.js";
import { createStrategy, DEFAULT_STRATEGY_OPTIONS } from "../../balancer/registry.js";
import type { MemberEndpoint } from "./members.js";
import { RacingComposite } from "./racing-composite.js";
import { SequentialComposite } from "./sequential-composite.js";

export type { MemberEndpoint } from "./members.js";

/** What building a composite needs from the pool. */
export interface CompositeDeps {
  /** A member's endpoint (composites pick members by their state). */
  memberEndpoint(name: string): MemberEndpoint;
  /** Time source (hedge delays, grace windows, member timeouts). Default the system clock. */
  clock?: Clock;
  /** The pool settings composites fall back on (strategy_options). */
  pool?: PoolConfig;
  /** How composites call their members: the pool's attempt lifecycle (src/pool/member-calls.ts). */
  memberCalls?: MemberCalls<MemberEndpoint>;
}

export interface CompositeFactory {
  /** Problems with this composite's config, paths relative to the provider entry. */
  validate(cfg: ProviderConfig): ConfigProblem[];
  create(cfg: ProviderConfig, deps: CompositeDeps): Provider;
}

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

function members(cfg: ProviderConfig, deps: CompositeDeps): MemberEndpoint[] {
  return (cfg.members ?? []).map((m) => deps.memberEndpoint(m));
}

const options = (cfg: ProviderConfig, deps: CompositeDeps) =>
  cfg.strategy_options ?? deps.pool?.strategy_options ?? DEFAULT_STRATEGY_OPTIONS;

export const COMPOSITE_FACTORIES: Record<"racing" | "fallback" | "loadbalance", CompositeFactory> = {
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

/** The factory of a composite type, undefined for any other type. */
export function compositeFactory(type: string): CompositeFactory | undefined {
  return Object.hasOwn(COMPOSITE_FACTORIES, type) ? COMPOSITE_FACTORIES[type as keyof typeof COMPOSITE_FACTORIES] : undefined;
}
