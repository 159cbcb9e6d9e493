/**
 * The circuit-breaker mechanism: one Breaker (breaker.ts) per endpoint whose config enables
 * it, kept here by endpoint (so it survives reloads that keep the endpoint), given as a gate
 * (trial calls of a half-open breaker) and a verdict (open = out of rotation).
 */
import type { CircuitBreakerConfig } from "../config/schema.js";
import type { GateBlock } from "../core/gate.js";
import type { EndpointMechanism, MechanismState } from "../core/mechanism.js";
import type { Clock } from "../util/clock.js";
import { Breaker, type BreakerState, type BreakerVerdict } from "./breaker.js";

/** What the breakers need of an endpoint. */
export interface BreakerSubject {
  readonly name: string;
  readonly config: { readonly circuit_breaker: CircuitBreakerConfig };
}

export class Breakers<E extends BreakerSubject> implements EndpointMechanism<E> {
  readonly name = "circuit_breaker";
  private readonly byEndpoint = new Map<E, Breaker>();

  constructor(
    private readonly clock: Clock,
    private readonly onChange?: (e: E, state: BreakerState) => void,
  ) {}

  /** Give `e` its breaker when its config asks for one (idempotent). */
  attach(e: E): void {
    if (this.byEndpoint.has(e) || !e.config.circuit_breaker.enabled) return;
    this.byEndpoint.set(e, new Breaker(e.name, e.config.circuit_breaker, this.clock, (s) => this.onChange?.(e, s)));
  }

  /** `e`'s breaker, if it has one. */
  of(e: E): Breaker | undefined {
    return this.byEndpoint.get(e);
  }

  state(e: E): MechanismState | undefined {
    const s = this.byEndpoint.get(e)?.state;
    return s === "open" ? "breaker_open" : s === "half_open" ? "breaker_half_open" : undefined;
  }

  reason(e: E, now: number): string {
    return `circuit breaker open, half-open in ${Math.ceil(this.byEndpoint.get(e)?.resetIn(now) ?? 0)} ms`;
  }

  check(e: E, now: number): GateBlock | undefined {
    return this.byEndpoint.get(e)?.check(now);
  }

  /** A call starts: the token to hand back to `record`. */
  onStart(e: E): number {
    return this.byEndpoint.get(e)?.onStart() ?? 0;
  }

  record(e: E, token: number, verdict: BreakerVerdict): void {
    this.byEndpoint.get(e)?.record(token, verdict);
  }

  /** `e` left the pool for good: stop its breaker's timers. */
  dispose(e: E): void {
    this.byEndpoint.get(e)?.shutdown();
    this.byEndpoint.delete(e);
  }

  close(): void {
    for (const b of this.byEndpoint.values()) b.shutdown();
  }
}
