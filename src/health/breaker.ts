/**
 * A provider's circuit breaker, on opossum. Calls are not run through `breaker.fire()` (the
 * pool makes them, streams included); instead each counted outcome is recorded by firing a
 * tiny action that resolves or rejects, so opossum keeps the rolling window, computes the
 * failure ratio, and runs the closed -> open -> half-open -> closed state machine with its
 * reset timer. On top of it this adds what opossum lacks:
 *  - `failure_threshold` failures in a row open the breaker (besides opossum's ratio over
 *    `window_ms` once `min_requests` calls are in it);
 *  - half-open lets `half_open_requests` trial calls through at once; the first to finish
 *    decides (opossum's pending-close), an outcome that proves nothing (a 429, a cancel)
 *    frees the trial slot for another;
 *  - the window slides on the pool's Clock (opossum's rotateBucketController, rotated lazily
 *    on use, so an idle breaker runs no timer).
 * The reset timer is opossum's own (setTimeout): tests drive it with vitest's fake timers.
 */
import { EventEmitter } from "node:events";
import CircuitBreaker from "opossum";
import type { CircuitBreakerConfig } from "../config/schema.js";
import type { GateBlock } from "../core/gate.js";
import type { Clock } from "../util/clock.js";

export type BreakerState = "closed" | "open" | "half_open";

/** What an ended call proves about the provider. */
export type BreakerVerdict = "success" | "failure" | "neutral";

const BUCKETS = 10;

export class Breaker {
  private readonly cb: CircuitBreaker<[boolean], void>;
  private readonly rotator = new EventEmitter();
  private readonly bucketMs: number;
  private bucket = -1;
  private consecutive = 0;
  private trials = 0;
  /** Bumped on every state change, so outcomes of calls from an earlier state are told apart. */
  private epoch = 0;
  /** Monotonic ms when the breaker last opened. */
  openedAt = 0;
  /** Times it opened since start (for stats and logs). */
  opens = 0;

  constructor(
    readonly name: string,
    private readonly cfg: CircuitBreakerConfig,
    private readonly clock: Clock,
    onChange?: (state: BreakerState) => void,
  ) {
    this.bucketMs = cfg.window_ms / BUCKETS;
    this.cb = new CircuitBreaker((ok: boolean) => (ok ? Promise.resolve() : Promise.reject(FAILED)), {
      name,
      timeout: false,
      resetTimeout: cfg.reset_timeout_ms,
      // Above 100 the ratio never trips: failure_ratio 0 turns it off.
      errorThresholdPercentage: cfg.failure_ratio > 0 ? cfg.failure_ratio * 100 : 101,
      volumeThreshold: cfg.min_requests,
      rollingCountTimeout: cfg.window_ms,
      rollingCountBuckets: BUCKETS,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.rotator,
    });
    const changed = (s: BreakerState) => () => {
      this.epoch++;
      this.trials = 0;
      this.consecutive = 0;
      if (s === "open") {
        this.openedAt = this.clock.now();
        this.opens++;
      }
      onChange?.(s);
    };
    this.cb.on("open", changed("open"));
    this.cb.on("halfOpen", changed("half_open"));
    this.cb.on("close", changed("closed"));
  }

  get state(): BreakerState {
    return this.cb.opened ? "open" : this.cb.halfOpen ? "half_open" : "closed";
  }

  /** Milliseconds until an open breaker lets trial calls through (0 unless open). */
  resetIn(now: number): number {
    return this.cb.opened ? Math.max(0, this.openedAt + this.cfg.reset_timeout_ms - now) : 0;
  }

  /** Admission: undefined when a call may start. Open breakers are out of rotation anyway. */
  check(now: number): GateBlock | undefined {
    if (this.cb.closed) return undefined;
    if (this.cb.halfOpen) {
      if (this.trials < this.cfg.half_open_requests) return undefined;
      return { kind: "unavailable", reason: `circuit breaker half-open: ${this.trials} trial request(s) in flight` };
    }
    return { kind: "unavailable", reason: "circuit breaker open", retryAfterMs: this.resetIn(now) };
  }

  /** A call starts; returns the token to hand back to `record`. */
  onStart(): number {
    if (this.cb.halfOpen) this.trials++;
    return this.epoch;
  }

  /** A call that started with `token` ended. */
  record(token: number, verdict: BreakerVerdict): void {
    const current = token === this.epoch;
    if (this.cb.halfOpen) {
      if (!current) return; // started before the trial period: proves nothing about now
      this.trials = Math.max(0, this.trials - 1);
      if (verdict === "neutral") return;
    }
    if (verdict === "neutral" || this.cb.opened) return;
    this.rotate(this.clock.now());
    this.consecutive = verdict === "success" ? 0 : this.consecutive + 1;
    this.cb.fire(verdict === "success").catch(() => undefined);
    if (this.consecutive >= this.cfg.failure_threshold && this.cb.closed) this.cb.open();
  }

  /**
   * A health probe reached the upstream and passed: while half-open it serves as the trial, so
   * a provider that recovered between requests does not wait for one to close its breaker.
   */
  probePassed(): void {
    if (this.cb.halfOpen) this.cb.close();
  }

  /** Stop timers (the provider left the config). */
  shutdown(): void {
    this.cb.shutdown();
  }

  /** Slide opossum's window to `now` (it rotates when told; we tell it lazily). */
  private rotate(now: number): void {
    const b = Math.floor(now / this.bucketMs);
    if (this.bucket < 0) this.bucket = b;
    const steps = Math.min(BUCKETS, b - this.bucket);
    for (let i = 0; i < steps; i++) this.rotator.emit("rotate");
    if (b > this.bucket) this.bucket = b;
  }
}

const FAILED = Object.assign(new Error("upstream call failed"), { code: "LLMPOOL_CALL_FAILED" });
