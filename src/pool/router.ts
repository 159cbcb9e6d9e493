/**
 * Model routing: a request's model name (or alias) -> the endpoints that serve it and the
 * upstream name each one uses for it.
 */
import type { Endpoint } from "./endpoint.js";
import { PoolError } from "./errors.js";

export interface Route {
  endpoint: Endpoint;
  /** The upstream's name for the model. */
  upstreamModel: string;
}

export interface ModelRoutes {
  /** The public model name the request resolved to. */
  model: string;
  routes: Route[];
}

export class ModelRouter {
  /** Public name -> routes, in config order. */
  private readonly byModel = new Map<string, Route[]>();
  readonly defaultModel: string;

  constructor(endpoints: readonly Endpoint[], defaultModel?: string) {
    for (const endpoint of endpoints) {
      for (const [publicName, upstreamModel] of endpoint.models) {
        let routes = this.byModel.get(publicName);
        if (!routes) this.byModel.set(publicName, (routes = []));
        routes.push({ endpoint, upstreamModel });
      }
    }
    this.defaultModel = defaultModel || (this.byModel.keys().next().value ?? "");
  }

  /** Every public model name, sorted. */
  models(): string[] {
    return [...this.byModel.keys()].sort();
  }

  routesFor(model: string): Route[] | undefined {
    return this.byModel.get(model);
  }

  resolve(requested: string): ModelRoutes {
    const model = requested || this.defaultModel;
    const routes = this.byModel.get(model);
    if (!routes || routes.length === 0) {
      const served = this.models();
      const list = served.length > 12 ? `${served.slice(0, 12).join(", ")}, … (${served.length} in all)` : served.join(", ");
      throw new PoolError(
        "not_found",
        `model ${JSON.stringify(model)} is not served by any provider; served models: ${list || "(none)"}`,
      );
    }
    return { model, routes };
  }
}
