/**
 * Building endpoints from a validated config: adapters first, composites after their members.
 */
import type { Config, ProviderConfig } from "../config/schema.js";
import { createAdapter } from "../providers/registry.js";
import type { Provider } from "../providers/types.js";
import type { Clock } from "../util/clock.js";
import { Endpoint } from "./endpoint.js";

export function buildEndpoints(config: Config, clock: Clock, reuse?: (cfg: ProviderConfig) => Endpoint | undefined): Endpoint[] {
  const byName = new Map(config.providers.map((p) => [p.name, p]));
  const built = new Map<string, Endpoint>();
  const build = (cfg: ProviderConfig): Endpoint => {
    const existing = built.get(cfg.name);
    if (existing) return existing;
    const kept = reuse?.(cfg);
    const endpoint =
      kept ??
      new Endpoint(
        cfg,
        createAdapter(cfg, {
          member: (name: string): Provider => build(byName.get(name)!).provider,
        }),
        clock,
      );
    built.set(cfg.name, endpoint);
    return endpoint;
  };
  // Config order is kept for stats and round robin.
  return config.providers.map(build);
}
