/**
 * What the provider registry (registry.ts) holds for each config `type`: how to validate its
 * config and build its adapter. (Composites are not adapters: the pool builds them,
 * src/pool/composite/index.ts.)
 */
import type { ProviderConfig } from "../config/schema.js";
import type { ConfigProblem } from "../config/interpolate.js";
import type { Provider } from "../core/provider.js";

export interface AdapterDeps {
  /** Another configured provider by name (unused by the built-in adapters; kept so that an
   * adapter may wrap another). */
  member?(name: string): Provider;
}

export interface AdapterFactory {
  /** Problems with this provider's config, paths relative to the provider entry. */
  validate(cfg: ProviderConfig): ConfigProblem[];
  create(cfg: ProviderConfig, deps: AdapterDeps): Provider;
}
