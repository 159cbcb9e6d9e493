/**
 * Building endpoints from a validated config: adapters from the provider registry, composites
 * (src/pool/composite) after their members.
 */
import type { Config, ProviderConfig } from "../config/schema.js";
import { createAdapter } from "../providers/registry.js";
import { type Provider } from "../core/provider.js";
import { ProviderError } from "../core/errors.js";
import { redact } from "../util/redact.js";
import type { Clock } from "../util/clock.js";
import { Endpoint } from "./endpoint.js";
import type { MemberCalls } from "../core/member-calls.js";
import type { MemberEndpoint } from "./composite/members.js";
import { compositeFactory } from "./composite/index.js";

/**
 * `memberCalls`: how composites call their members (the pool passes its attempt lifecycle,
 * src/pool/member-calls.ts); without it member calls are recorded on the member only.
 */
/** Builds a provider's adapter instead of the registry (undefined: the registry's). */
export type ProviderFactory = (cfg: ProviderConfig) => Provider | undefined;

export function buildEndpoints(
  config: Config,
  clock: Clock,
  reuse?: (cfg: ProviderConfig) => Endpoint | undefined,
  memberCalls?: MemberCalls<Endpoint>,
  createProvider?: ProviderFactory,
): Endpoint[] {
  const byName = new Map(config.providers.map((p) => [p.name, p]));
  const built = new Map<string, Endpoint>();
  const build = (cfg: ProviderConfig): Endpoint => {
    const existing = built.get(cfg.name);
    if (existing) return existing;
    let kept = reuse?.(cfg);
    // A composite is kept only if its members are: it holds their endpoints.
    if (kept && cfg.members?.some((m) => build(byName.get(m)!) !== reuse?.(byName.get(m)!))) kept = undefined;
    const composite = compositeFactory(cfg.type);
    const endpoint =
      kept ??
      new Endpoint(
        cfg,
        createProvider?.(cfg) ??
          (composite
            ? composite.create(cfg, {
                memberEndpoint: (name: string) => build(byName.get(name)!),
                clock,
                pool: config.pool,
                // A composite's members are the endpoints built here, so it only passes Endpoints back.
                memberCalls: memberCalls as MemberCalls<MemberEndpoint> | undefined,
              })
            : createAdapter(cfg, {})),
        clock,
      );
    built.set(cfg.name, endpoint);
    return endpoint;
  };
  // Config order is kept for stats and round robin.
  return config.providers.map(build);
}

/** Model discovery (`discover_models`): add what each upstream lists. True when any was asked. */
export async function discoverModels(endpoints: readonly Endpoint[], signal: AbortSignal): Promise<boolean> {
  const discovering = endpoints.filter((e) => e.config.discover_models && e.provider.listModels);
  if (discovering.length === 0) return false;
  await Promise.all(
    discovering.map(async (e) => {
      try {
        for (const m of await e.provider.listModels!(signal)) if (!e.models.has(m)) e.models.set(m, m);
      } catch (err) {
        e.lastError = err instanceof ProviderError ? err.describe() : redact(String(err));
      }
    }),
  );
  return true;
}
