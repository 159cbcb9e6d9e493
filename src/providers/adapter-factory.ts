/**
 * What the provider registry (registry.ts) holds for each config `type`: how to validate its
 * config and build its adapter. Its own file so that composites (src/balancer/composite),
 * which the registry lists, can implement it without importing the registry back.
 */
import type { PoolConfig, ProviderConfig } from "../config/schema.js";
import type { ConfigProblem } from "../config/interpolate.js";
import type { MemberCalls } from "../core/member-calls.js";
import type { Provider } from "../core/provider.js";
import type { Clock } from "../util/clock.js";
import type { MemberEndpoint } from "../balancer/composite/members.js";

export interface AdapterDeps {
  /** Another configured provider by name (composites combine them). */
  member(name: string): Provider;
  /** Another configured provider's endpoint (composites pick members by their state). */
  memberEndpoint?(name: string): MemberEndpoint;
  /** Time source for composites (hedge delays, member timeouts). */
  clock?: Clock;
  /** The pool settings composites fall back on (strategy_options). */
  pool?: PoolConfig;
  /** How composites call their members: the pool's attempt lifecycle (src/pool/member-calls.ts). */
  memberCalls?: MemberCalls<MemberEndpoint>;
}

export interface AdapterFactory {
  /** Problems with this provider's config, paths relative to the provider entry. */
  validate(cfg: ProviderConfig): ConfigProblem[];
  create(cfg: ProviderConfig, deps: AdapterDeps): Provider;
}
