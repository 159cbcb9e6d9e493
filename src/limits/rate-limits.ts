/**
 * The limits mechanism: one Limiter (limiter.ts: rpm, rpd, tpm, max_concurrency, upstream
 * cool-downs) per endpoint, kept here by endpoint (so its windows survive reloads that keep
 * the endpoint), given as a gate (may a call start now) and a verdict (cooling down), with
 * the count of requests the limits kept from each endpoint.
 */
import type { GateBlock } from "../core/gate.js";
import type { EndpointMechanism, MechanismState } from "../core/mechanism.js";
import type { CallOutcome, RateLimitStatus } from "../core/outcome.js";
import type { RateLimitInfo } from "../core/provider.js";
import { Limiter, type LimiterConfig, type SharedMode } from "./limiter.js";

/** What the limits need of an endpoint. */
export interface LimitedEndpoint {
  readonly name: string;
  readonly config: LimiterConfig;
  readonly inFlight: number;
  /** Calls the provider's connection pool takes at once (undefined = unbounded). */
  readonly capacity?: number;
}

interface Entry {
  readonly limiter: Limiter;
  /** Requests a limit, concurrency cap or cool-down kept from the endpoint. */
  rejections: number;
}

export class RateLimits<E extends LimitedEndpoint> implements EndpointMechanism<E> {
  readonly name = "limits";
  private readonly byEndpoint = new Map<E, Entry>();

  /**
   * `defaultCooldownMs`: `pool.default_cooldown_ms`, read when a 429 names no delay.
   * `shared`: shared state in use (src/state): each limiter defers to it while it answers.
   * `random`: the jitter of paced releases after a cool-down (limiter.ts).
   */
  constructor(
    private readonly defaultCooldownMs: () => number,
    private readonly shared?: SharedMode,
    private readonly random: () => number = Math.random,
  ) {}

  /** Give `e` its limiter (idempotent). */
  attach(e: E): void {
    if (!this.byEndpoint.has(e)) this.byEndpoint.set(e, { limiter: new Limiter(e.config, this.defaultCooldownMs, this.shared, e.capacity, this.random), rejections: 0 });
  }

  state(e: E, now: number): MechanismState | undefined {
    const l = this.byEndpoint.get(e)?.limiter;
    return l !== undefined && l.cooldownRemaining(now) > 0 ? "cooling_down" : undefined;
  }

  rateLimits(e: E, now: number): RateLimitStatus | undefined {
    const x = this.byEndpoint.get(e);
    return x?.limiter.status(now, x.rejections, e.name);
  }

  /** A limit outside this replica (the shared counters) kept a request from `e`. */
  countRejection(e: E): void {
    const x = this.byEndpoint.get(e);
    if (x) x.rejections++;
  }

  /** Gate: may a call of `promptTokens` start on `e` now. */
  check(e: E, promptTokens: number, now: number): GateBlock | undefined {
    const x = this.byEndpoint.get(e);
    if (x === undefined) return undefined;
    const block = x.limiter.check(e.inFlight, promptTokens, now);
    if (block) x.rejections++;
    return block;
  }

  onStart(e: E, promptTokens: number, now: number): void {
    this.byEndpoint.get(e)?.limiter.onStart(promptTokens, now);
  }

  /** A call that started at `startedAt` with `reserved` tokens ended with `o`. */
  onEnd(e: E, startedAt: number, reserved: number, o: CallOutcome, now: number): void {
    const limiter = this.byEndpoint.get(e)?.limiter;
    if (limiter === undefined) return;
    const err = o.error;
    const used = o.usage ? o.usage.promptTokens + o.usage.completionTokens : err?.kind === "connect" ? 0 : undefined;
    limiter.settle(startedAt, reserved, used, now);
    if (err && !o.canceled) limiter.onFailure(err, now);
    else if (o.rateLimit) limiter.observe(o.rateLimit, now);
  }

  /** Rate-limit headers seen mid-call (a stream's first event). */
  observe(e: E, info: RateLimitInfo, now: number): void {
    this.byEndpoint.get(e)?.limiter.observe(info, now);
  }

  /** `e` left the pool for good. */
  dispose(e: E): void {
    this.byEndpoint.delete(e);
  }
}
