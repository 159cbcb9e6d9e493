/**
 * The pool's resilience machinery in one place: per-provider circuit breakers and limits
 * (attached to each endpoint, so they survive reloads with it), passive outlier ejection,
 * active health checks and warmup, the retry budget, and the wait queue. The pool sees it as
 * two gates (breaker trials, limits) plus hooks for an attempt's start and end.
 */
import type { Config } from "../config/schema.js";
import { Breaker, type BreakerVerdict } from "../health/breaker.js";
import { Ejector } from "../health/ejection.js";
import { HealthMonitor } from "../health/monitor.js";
import { warmupEndpoints, type WarmupReport } from "../health/warmup.js";
import { Admission } from "../limits/admission.js";
import { Limiter, type SharedMode } from "../limits/limiter.js";
import { RetryBudget } from "../limits/retry-budget.js";
import type { RateLimitInfo } from "../core/provider.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { Attempt } from "./attempt.js";
import type { CallOutcome, Endpoint } from "./endpoint.js";
import type { EndpointGate } from "./gate.js";

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
  readonly ejector: Ejector;
  readonly monitor: HealthMonitor;
  /** Checked while choosing, before any gate added from outside. */
  readonly gates: EndpointGate[] = [
    { name: "circuit_breaker", check: (e, _req, now) => e.breaker?.check(now) },
    {
      name: "limits",
      check: (e, req, now) => {
        const block = e.limiter?.check(e.inFlight, req.promptTokens, now);
        if (block) e.rateLimitRejections++;
        return block;
      },
    },
  ];

  constructor(private readonly host: ResilienceHost) {
    const pool = () => host.config().pool;
    this.admission = new Admission(() => pool().queue, host.clock);
    this.budget = new RetryBudget(() => pool().retry_budget);
    this.ejector = new Ejector(
      () => pool().outlier_detection,
      host.endpoints,
      (e, ms) => host.logger?.warn({ provider: e.name, ejection_ms: ms, ejections: e.ejections, last_error: e.lastError }, "provider ejected as an outlier"),
    );
    this.monitor = new HealthMonitor({ endpoints: host.endpoints, config: pool, clock: host.clock, random: host.random, logger: host.logger });
  }

  /** Give a newly built endpoint its breaker and limiter. */
  attach(e: Endpoint): void {
    e.limiter ??= new Limiter(e.config, () => this.host.config().pool.default_cooldown_ms, this.host.shared);
    if (!e.breaker && e.config.circuit_breaker.enabled) {
      const log = this.host.logger;
      e.breaker = new Breaker(e.name, e.config.circuit_breaker, this.host.clock, (state) => {
        if (state === "open") log?.warn({ provider: e.name, last_error: e.lastError }, "circuit breaker open: provider out of rotation");
        else log?.info({ provider: e.name }, state === "half_open" ? "circuit breaker half-open: trying the provider again" : "circuit breaker closed: provider back in rotation");
      });
    }
  }

  /** The endpoint left the config: no new calls; its timers stop once it is idle. */
  retire(e: Endpoint): void {
    e.retired = true;
  }

  dispose(e: Endpoint): void {
    e.breaker?.shutdown();
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
    e.limiter?.onStart(promptTokens, now);
    return { breakerToken: e.breaker?.onStart() ?? 0, reserved: promptTokens };
  }

  /** An attempt ended (after the endpoint recorded it): breaker, ejection, limits, queue. */
  onEnd(at: Attempt, o: CallOutcome, now: number): void {
    const e = at.endpoint;
    e.breaker?.record(at.breakerToken, verdict(o));
    this.ejector.observe(e, o, now);
    const limiter = e.limiter;
    if (limiter) {
      const err = o.error;
      const used = o.usage ? o.usage.promptTokens + o.usage.completionTokens : err?.kind === "connect" ? 0 : undefined;
      limiter.settle(at.started, at.reserved, used, now);
      if (err && !o.canceled) limiter.onFailure(err, now);
      else if (o.rateLimit) limiter.observe(o.rateLimit, now);
    }
    this.admission.release(e);
  }

  /** Rate-limit headers seen mid-call (a stream's first event). */
  observe(e: Endpoint, info: RateLimitInfo, now: number): void {
    e.limiter?.observe(info, now);
  }

  close(): void {
    this.monitor.stop();
    this.admission.close();
    for (const e of this.host.endpoints()) e.breaker?.shutdown();
  }
}
