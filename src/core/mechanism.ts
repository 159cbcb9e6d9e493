/**
 * A mechanism (circuit breaker, outlier ejection, health checks, limits) keeps its own state
 * per endpoint and only says what that state means, the way grpc-js's outlier detection wraps
 * a picker instead of adding fields to the subchannel. The endpoint asks each mechanism it is
 * watched by and reports the most severe answer, so a new mechanism touches no existing one.
 */
import type { RateLimitStatus } from "./outcome.js";

/** What a mechanism may say about an endpoint, most severe first (see SEVERITY). */
export type MechanismState = "breaker_open" | "ejected" | "unhealthy" | "breaker_half_open" | "cooling_down" | "degraded";

/** Most severe first: an endpoint reports the first of these any mechanism gives it. */
export const SEVERITY: readonly MechanismState[] = ["breaker_open", "ejected", "unhealthy", "breaker_half_open", "cooling_down", "degraded"];

/** States that take an endpoint out of rotation; the others only describe it. */
export function outOfRotation(s: MechanismState): boolean {
  return s === "breaker_open" || s === "ejected" || s === "unhealthy";
}

/** `E` is the pool's endpoint (src/pool/endpoint.ts); mechanisms key their state by it. */
export interface EndpointMechanism<E> {
  readonly name: string;
  /** Its verdict on `e` now; undefined when it has nothing to say. Hot path: no allocation. */
  state(e: E, now: number): MechanismState | undefined;
  /** Why `e` is out of rotation, for UNAVAILABLE messages (asked only when `state` says so). */
  reason?(e: E, now: number): string;
  /** Rate-limit headroom, for the mechanism that keeps the limits. */
  rateLimits?(e: E, now: number): RateLimitStatus | undefined;
}
