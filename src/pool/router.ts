/**
 * Model routing: a request's model name (or alias) -> the endpoints that serve it and the
 * upstream name each one uses for it.
 *
 * A provider's `models` lists public names, or maps public names to upstream names. A public
 * name may be a glob: `*` matches any run of characters, `?` one character. In the upstream
 * name, each `*` is replaced by what the matching `*` of the pattern matched, so
 * `"claude-*": "anthropic/claude-*"` sends `claude-3-5-haiku` upstream as
 * `anthropic/claude-3-5-haiku`, and a listed glob (`models: ["gpt-4o*"]`) passes the
 * requested name through. For each provider an exact name wins over its globs, and among
 * globs the first listed that matches; every provider that matches serves the request.
 */
import type { Endpoint } from "./endpoint.js";
import { PoolError } from "../core/errors.js";

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

/** A compiled model glob. */
export interface ModelGlob {
  pattern: string;
  regex: RegExp;
  upstream: string;
}

export const isGlob = (name: string): boolean => name.includes("*") || name.includes("?");

export function compileGlob(pattern: string, upstream: string): ModelGlob {
  let src = "";
  for (const ch of pattern) {
    if (ch === "*") src += "(.*)";
    else if (ch === "?") src += ".";
    else src += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return { pattern, regex: new RegExp(`^${src}$`, "s"), upstream };
}

/** The upstream name for `model` under a glob, or undefined when it does not match. */
export function matchGlob(g: ModelGlob, model: string): string | undefined {
  const m = g.regex.exec(model);
  if (!m) return undefined;
  let i = 1;
  return g.upstream.replace(/\*/g, () => m[i++] ?? "");
}

/**
 * The upstream name a provider with `models` uses for `model` (exact name first, then the
 * first matching glob), or undefined when it does not serve it.
 */
export function upstreamModelFor(models: ReadonlyMap<string, string>, model: string, globs?: readonly ModelGlob[]): string | undefined {
  const exact = models.get(model);
  if (exact !== undefined) return exact;
  for (const g of globs ?? compileGlobs(models)) {
    const up = matchGlob(g, model);
    if (up !== undefined) return up;
  }
  return undefined;
}

export function compileGlobs(models: ReadonlyMap<string, string>): ModelGlob[] {
  const out: ModelGlob[] = [];
  for (const [name, upstream] of models) if (isGlob(name)) out.push(compileGlob(name, upstream));
  return out;
}

/** Resolved glob lookups kept per router (bounded, so arbitrary model names cannot grow it). */
const CACHE_LIMIT = 1024;

/** Which of an endpoint's model maps a router serves. */
export type ModelKind = "chat" | "embedding";

const modelsOf = (e: Endpoint, kind: ModelKind) => (kind === "chat" ? e.models : e.embeddingModels);

export class ModelRouter {
  /** Public name (or pattern) -> routes, in config order: what ListModels shows. */
  private readonly byModel = new Map<string, Route[]>();
  /** Endpoints with globs, in config order. */
  private readonly globbed: { endpoint: Endpoint; globs: ModelGlob[] }[] = [];
  private readonly resolved = new Map<string, Route[]>();
  readonly defaultModel: string;

  constructor(
    private readonly endpoints: readonly Endpoint[],
    defaultModel?: string,
    readonly kind: ModelKind = "chat",
  ) {
    for (const endpoint of endpoints) {
      const models = modelsOf(endpoint, kind);
      for (const [publicName, upstreamModel] of models) {
        let routes = this.byModel.get(publicName);
        if (!routes) this.byModel.set(publicName, (routes = []));
        routes.push({ endpoint, upstreamModel });
      }
      const globs = compileGlobs(models);
      if (globs.length > 0) this.globbed.push({ endpoint, globs });
    }
    const firstExact = [...this.byModel.keys()].find((m) => !isGlob(m));
    this.defaultModel = defaultModel || (firstExact ?? "");
  }

  /** Every public model name and pattern, sorted. */
  models(): string[] {
    return [...this.byModel.keys()].sort();
  }

  /** The routes listed under a public name or pattern exactly (ListModels). */
  routesFor(model: string): Route[] | undefined {
    return this.byModel.get(model);
  }

  /** Every endpoint serving `model`, exact names and globs alike, in config order. */
  match(model: string): Route[] {
    if (this.globbed.length === 0) return this.byModel.get(model) ?? [];
    let routes = this.resolved.get(model);
    if (routes) return routes;
    routes = [];
    for (const endpoint of this.endpoints) {
      const models = modelsOf(endpoint, this.kind);
      const exact = models.get(model);
      if (exact !== undefined) {
        routes.push({ endpoint, upstreamModel: exact });
        continue;
      }
      const g = this.globbed.find((x) => x.endpoint === endpoint);
      if (!g) continue;
      const up = upstreamModelFor(models, model, g.globs);
      if (up !== undefined) routes.push({ endpoint, upstreamModel: up });
    }
    if (this.resolved.size >= CACHE_LIMIT) this.resolved.delete(this.resolved.keys().next().value!);
    this.resolved.set(model, routes);
    return routes;
  }

  resolve(requested: string): ModelRoutes {
    const model = requested || this.defaultModel;
    const routes = this.match(model);
    if (routes.length === 0) {
      const served = this.models();
      const list = served.length > 12 ? `${served.slice(0, 12).join(", ")}, … (${served.length} in all)` : served.join(", ");
      throw new PoolError(
        "not_found",
        `model ${JSON.stringify(model)} is not served by any provider; served ${this.kind === "chat" ? "" : "embedding "}models: ${list || "(none)"}`,
      );
    }
    return { model, routes };
  }
}
