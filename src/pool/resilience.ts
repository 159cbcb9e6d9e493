/**
 * The pool's resilience machinery in one place: per-provider circuit breakers and limits
 * (each mechanism keeps its state by endpoint, so it survives reloads that keep the
 * endpoint, and gives its verdict through src/core/mechanism.ts), passive outlier ejection,
 * active health checks and warmup, the retry budget, and the wait queue. The pool sees it as
 * two gates (breaker trials, limits) plus hooks for an attempt's start and end.
 */
import type { Config } from "../config/schema.js";
import type { BreakerVerdict } from "../health/breaker.js";
import { Breakers } from "../health/breakers.js";
import { Ejector } from "../health/ejection.js";
import { HealthMonitor } from "../health/monitor.js";
import { warmupEndpoints, type WarmupReport } from "../health/warmup.js";
import { Admission } from "../limits/admission.js";
import { RateLimits } from "../limits/rate-limits.js";
import type { SharedMode } from "../limits/limiter.js";
import { RetryBudget } from "../limits/retry-budget.js";
import type { RateLimitInfo } from "../core/provider.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { Endpoint } from "./endpoint.js";
import type { CallOutcome } from "../core/outcome.js";
import type { EndpointGate } from "../core/gate.js";
import type { EndpointMechanism } from "../core/mechanism.js";

/** What an attempt (or a composite's member call) kept from `onStart`, handed back at its end. */
export interface StartedCall {
  readonly endpoint: Endpoint;
  /** Monotonic ms. */
  readonly started: number;
  readonly breakerToken: number;
  readonly reserved: number;
}

export interface ResilienceHost {
  config(): Config;
  endpoints(): readonly Endpoint[];
  clock: Clock;
  random: () => number;
  logger?: Logger;
  /** Shared state in use (src/state): limiters defer to it while it answers. */
  shared?: SharedMode;
}

/** What an ended call says about the provider's health (for its breaker). */
function verdict(o: CallOutcome): BreakerVerdict {
  if (o.ok) return "success";
  const err = o.error;
  if (o.canceled || !err) return "neutral";
  // A 429 is a limit, not sickness (cool-downs handle it); a rejected request proves nothing.
  if (err.scope !== "transient" || err.kind === "rate_limited") return "neutral";
  return "failure";
}

export class Resilience {
  readonly admission: Admission;
  readonly budget: RetryBudget;
  readonly breakers: Breakers<Endpoint>;
  readonly limits: RateLimits<Endpoint>;
  readonly ejector: Ejector<Endpoint>;
  readonly monitor: HealthMonitor;
  /** The verdicts each endpoint reports (src/core/mechanism.ts), most severe wins. */
  readonly mechanisms: readonly EndpointMechanism<Endpoint>[];
  /** Checked while choosing, before any gate added from outside. */
  readonly gates: EndpointGate<Endpoint>[];

  constructor(private readonly host: ResilienceHost) {
    const pool = () => host.config().pool;
    const log = host.logger;
    this.admission = new Admission(() => pool().queue, host.clock);
    this.budget = new RetryBudget(() => pool().retry_budget);
    this.breakers = new Breakers<Endpoint>(host.clock, (e, state) => {
      if (state === "open") log?.warn({ provider: e.name, last_error: e.lastError }, "circuit breaker open: provider out of rotation");
      else log?.info({ provider: e.name }, state === "half_open" ? "circuit breaker half-open: trying the provider again" : "circuit breaker closed: provider back in rotation");
    });
    this.limits = new RateLimits<Endpoint>(() => pool().default_cooldown_ms, host.shared, host.random);
    this.ejector = new Ejector<Endpoint>(
      () => pool().outlier_detection,
      host.endpoints,
      (e, ms, count) => log?.warn({ provider: e.name, ejection_ms: ms, ejections: count, last_error: e.lastError }, "provider ejected as an outlier"),
    );
    this.monitor = new HealthMonitor({
      endpoints: host.endpoints,
      config: pool,
      clock: host.clock,
      random: host.random,
      logger: log,
      onProbePassed: (e) => this.breakers.of(e)?.probePassed(),
    });
    this.mechanisms = [this.breakers, this.ejector, this.monitor, this.limits];
    const breakers = this.breakers;
    const limits = this.limits;
    this.gates = [
      { name: "circuit_breaker", check: (e, _req, now) => breakers.check(e, now) },
      { name: "limits", check: (e, req, now) => limits.check(e, req.promptTokens, now) },
    ];
  }

  /** Give a newly built endpoint its breaker and limiter, and its mechanisms' verdicts. */
  attach(e: Endpoint): void {
    this.limits.attach(e);
    this.breakers.attach(e);
    e.watchedBy(this.mechanisms);
  }

  /** The endpoint left the config: no new calls; its timers stop once it is idle. */
  retire(e: Endpoint): void {
    e.retire();
  }

  /** A retired endpoint is idle: drop what every mechanism kept for it. */
  dispose(e: Endpoint): void {
    this.breakers.dispose(e);
    this.limits.dispose(e);
    this.ejector.dispose(e);
    this.monitor.dispose(e);
  }

  /** Start-up: warm the connections (bounded by warmup.timeout_ms), then start health checks. */
  async start(endpoints: readonly Endpoint[]): Promise<void> {
    await this.warm(endpoints);
    this.monitor.start();
  }

  async warm(endpoints: readonly Endpoint[]): Promise<WarmupReport | undefined> {
    const w = this.host.config().pool.warmup;
    if (!w.enabled || endpoints.length === 0) return undefined;
    const report = await warmupEndpoints(endpoints, { concurrency: w.concurrency, timeoutMs: w.timeout_ms, clock: this.host.clock });
    if (report.warmed.length + report.failed.length > 0) {
      this.host.logger?.info({ warmed: report.warmed, failed: report.failed, ms: Math.round(report.ms) }, "warmup done");
    }
    return report;
  }

  /** An attempt starts: count it against the limits and the breaker's trials. */
  onStart(e: Endpoint, promptTokens: number, now: number): { breakerToken: number; reserved: number } {
    this.limits.onStart(e, promptTokens, now);
    return { breakerToken: this.breakers.onStart(e), reserved: promptTokens };
  }

  /** An attempt ended (after the endpoint recorded it): breaker, ejection, limits, queue. */
  onEnd(at: StartedCall, o: CallOutcome, now: number): void {
    const e = at.endpoint;
    this.breakers.record(e, at.breakerToken, verdict(o));
    this.ejector.observe(e, o, now);
    this.limits.onEnd(e, at.started, at.reserved, o, now);
    this.admission.release(e);
  }

  /** Rate-limit headers seen mid-call (a stream's first event). */
  observe(e: Endpoint, info: RateLimitInfo, now: number): void {
    this.limits.observe(e, info, now);
  }

  close(): void {
    this.monitor.stop();
    this.admission.close();
    this.breakers.close();
  }
}
