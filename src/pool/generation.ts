/**
 * A generation: the endpoints, model router and strategy instances of one config version.
 * The pool swaps a whole generation on reload; endpoints whose config did not change carry
 * over (with their state: EWMA, breaker, limits), and strategies are made per generation so
 * new strategy options apply at once.
 */
import type { Strategy } from "../balancer/strategy.js";
import { availableStrategies, createStrategy, hasStrategy } from "../balancer/registry.js";
import type { LoadedConfig } from "../config/load.js";
import type { StrategyName } from "../config/schema.js";
import type { Clock } from "../util/clock.js";
import { buildEndpoints, type ProviderFactory } from "./build.js";
import type { MemberCalls } from "../core/member-calls.js";
import type { Endpoint } from "./endpoint.js";
import { invalidArgument } from "../core/errors.js";
import { ModelRouter, type ModelKind, type ModelRoutes } from "./router.js";

export interface Generation {
  loaded: LoadedConfig;
  endpoints: Endpoint[];
  byName: Map<string, Endpoint>;
  router: ModelRouter;
  /** The same for `embedding_models` (Embed requests). */
  embeddingRouter: ModelRouter;
  /** Strategy instances by name (stateful ones, like round robin, keep their state here). */
  strategies: Map<string, Strategy>;
  /** Wall-clock ms when this config was loaded. */
  loadedAt: number;
}

/** Build a generation; with `reuse`, endpoints whose config is unchanged are kept. */
export function createGeneration(
  loaded: LoadedConfig,
  clock: Clock,
  reuse?: Generation,
  memberCalls?: MemberCalls<Endpoint>,
  createProvider?: ProviderFactory,
): Generation {
  const endpoints = buildEndpoints(
    loaded.config,
    clock,
    reuse &&
      ((cfg) => {
        const old = reuse.byName.get(cfg.name);
        return old && JSON.stringify(old.config) === JSON.stringify(cfg) ? old : undefined;
      }),
    memberCalls,
    createProvider,
  );
  const g: Generation = {
    loaded,
    endpoints,
    byName: new Map(endpoints.map((e) => [e.name, e])),
    router: new ModelRouter(endpoints, loaded.config.pool.default_model),
    embeddingRouter: new ModelRouter(endpoints, "", "embedding"),
    strategies: new Map(),
    loadedAt: clock.wallNow(),
  };
  strategyFor(g, undefined);
  return g;
}

/** The strategy a request uses: its `routing.strategy`, else the pool's (made once per generation). */
export function strategyFor(g: Generation, name: string | undefined): Strategy {
  const pool = g.loaded.config.pool;
  const key = name || pool.strategy;
  let s = g.strategies.get(key);
  if (!s) {
    if (!hasStrategy(key)) {
      throw invalidArgument("routing.strategy", `unknown strategy ${JSON.stringify(key)}; available: ${availableStrategies().join(", ")}`);
    }
    s = createStrategy(key as StrategyName, pool.strategy_options, pool.affinity);
    g.strategies.set(key, s);
  }
  return s;
}

/**
 * The routes for a model of one kind. A model of the other kind is INVALID_ARGUMENT naming
 * `model` (a chat model in Embed, an embedding model in Chat), not "unknown".
 */
export function resolveKind(g: Generation, model: string, kind: ModelKind): ModelRoutes {
  const [own, other] = kind === "chat" ? [g.router, g.embeddingRouter] : [g.embeddingRouter, g.router];
  if (model && own.match(model).length === 0 && other.match(model).length > 0) {
    throw invalidArgument(
      "model",
      kind === "chat" ? `${JSON.stringify(model)} is an embedding model; use Embed (or /v1/embeddings)` : `${JSON.stringify(model)} is a chat model, not an embedding model`,
    );
  }
  return own.resolve(model);
}
