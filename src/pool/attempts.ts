/**
 * Attempts: the per-call half of the request lifecycle, shared by unary calls, streams (and
 * racing): get the next endpoint (or wait in the queue for one), back off before calling a
 * provider again, start the call with its abort signal, record how it ended on the endpoint,
 * its breaker, limits and the observers, and decide whether another attempt may follow.
 */
import type { Cancel } from "../util/cancel.js";
import type { PoolConfig } from "../config/schema.js";
import { costOf, type Pricer } from "../cost/pricing.js";
import { createWaiter, limitedOnly } from "../limits/admission.js";
import type { RateLimitInfo, ServedBy, TokenUsage } from "../core/provider.js";
import { ProviderError } from "../core/errors.js";
import type { Leg, RaceHost } from "../balancer/race-runner.js";
import type { Clock } from "../util/clock.js";
import { ChunkGaps } from "./chunk-gaps.js";
import { attemptSignal, type AttemptSignal } from "../core/attempt-signal.js";
import { delay } from "../util/clock.js";
import type { Endpoint } from "./endpoint.js";
import type { CallOutcome, CallRole } from "../core/outcome.js";
import { abortedError, exhaustedError, waitError } from "./failure.js";
import type { PoolObserver } from "./observer.js";
import type { Reserver } from "../core/gate.js";
import { triedOn, type Plan } from "./plan.js";
import type { Resilience } from "./resilience.js";
import { mayRetry, retryBackoff } from "./retry-policy.js";
import type { Route } from "./router.js";
import { settleUsage } from "./tokens.js";
import type { CallContext, PoolTotals } from "./types.js";

/** One upstream call of a request, from start to end. */
export interface Attempt {
  readonly route: Route;
  readonly endpoint: Endpoint;
  readonly role: CallRole;
  /** Monotonic ms. */
  readonly started: number;
  readonly signal: AttemptSignal;
  /** Breaker state token (src/health/breaker.ts). */
  readonly breakerToken: number;
  /** Prompt tokens reserved against tpm. */
  readonly reserved: number;
  /** Set once the attempt's outcome has been recorded. */
  ended: boolean;
}

/** A composite's call to one of its members, as the pool records it. */
export interface MemberAttempt {
  readonly plan: Plan | undefined;
  readonly endpoint: Endpoint;
  /** Monotonic ms. */
  readonly started: number;
  readonly breakerToken: number;
  readonly reserved: number;
  ended: boolean;
}

export interface AttemptsDeps {
  clock: Clock;
  random: () => number;
  settings: () => PoolConfig;
  /** The pool's observers (the same array: observers added later are seen). */
  observers: readonly PoolObserver[];
  totals: PoolTotals;
  resilience: Resilience;
  pricer: Pricer;
  /** The pool's choice of the next route (undefined when none can take the request now). */
  choose(plan: Plan): Route | undefined;
  /** A configured endpoint by name (a composite's answer is priced as its serving member's). */
  endpoint(name: string): Endpoint | undefined;
  /** Shared admission after choosing (src/state); none with the memory backend. */
  reserver?: Reserver<Endpoint>;
}

export class Attempts {
  readonly clock: Clock;
  /** Stall tracking's state: each endpoint's mean gap between stream chunks. */
  readonly chunkGaps = new ChunkGaps<Endpoint>();
  /** The request each attempt's abort signal belongs to: a composite's member calls find it so. */
  private readonly plans = new WeakMap<Cancel, Plan>();

  constructor(private readonly d: AttemptsDeps) {
    this.clock = d.clock;
  }

  /** `pool.stream` in force (stall detection and resume). */
  get streamSettings(): PoolConfig["stream"] {
    return this.d.settings().stream;
  }

  /**
   * Choose (or wait for) the next endpoint, back off before a retry, and start the call. A
   * choice is started in the same tick it was made: waiters woken together (a cool-down
   * lifting) each see the limits as the previous one left them. With shared limits the call is
   * first reserved on the shared counters (one round trip). The usual case (a fresh endpoint is
   * free now) returns the attempt itself, without a promise and its extra microtask.
   */
  next(plan: Plan, ctx: CallContext): Attempt | Promise<Attempt> {
    if (ctx.signal.aborted) return Promise.reject(abortedError(plan, ctx.signal));
    if (this.d.reserver) return this.nextReserved(plan, ctx);
    const first = this.d.choose(plan);
    if (!first) return this.waitThenStart(plan, ctx);
    const got = this.startFresh(plan, ctx, first);
    return "retry" in got ? this.retryAfterBackoff(plan, ctx) : got;
  }

  /** `next` when no endpoint can take the call now. */
  private async waitThenStart(plan: Plan, ctx: CallContext): Promise<Attempt> {
    const got = await this.waitForRoute(plan, ctx, (r) => this.startFresh(plan, ctx, r));
    return "retry" in got ? this.retryAfterBackoff(plan, ctx) : got;
  }

  /** `next` when the choice was an endpoint this request already tried: back off, choose again. */
  private async retryAfterBackoff(plan: Plan, ctx: CallContext): Promise<Attempt> {
    await this.backoff(plan, ctx);
    const next = this.d.choose(plan);
    const fresh = (r: Route) => this.startFresh(plan, ctx, r);
    const again = next ? fresh(next) : await this.waitForRoute(plan, ctx, fresh);
    return "retry" in again ? this.start(plan, again.retry, "retry", ctx) : again;
  }

  /** Start `route` now unless it was tried already (then it is handed back: a retry backs off first). */
  private startFresh(plan: Plan, ctx: CallContext, route: Route): Attempt | { retry: Route } {
    if (triedOn(plan, route.endpoint)) return { retry: route };
    return this.start(plan, route, plan.record.attemptEndpoints.length === 0 ? "first" : "fallback", ctx);
  }

  /** Wait before calling a provider again; the deadline bounds all attempts. */
  private async backoff(plan: Plan, ctx: CallContext): Promise<void> {
    const wait = retryBackoff(plan, this.d.settings(), this.d.random);
    // No retry that could not even start in time.
    if (plan.deadline !== undefined && this.clock.now() + wait >= plan.deadline) throw exhaustedError(plan);
    try {
      await delay(wait, ctx.signal, this.clock);
    } catch {
      throw abortedError(plan, ctx.signal);
    }
  }

  /** `next` with shared limits: choose, back off before a retry, reserve, start. */
  private async nextReserved(plan: Plan, ctx: CallContext): Promise<Attempt> {
    const same = (r: Route) => r;
    let route = this.d.choose(plan) ?? (await this.waitForRoute(plan, ctx, same));
    if (triedOn(plan, route.endpoint)) {
      await this.backoff(plan, ctx);
      route = this.d.choose(plan) ?? (await this.waitForRoute(plan, ctx, same));
    }
    route = await this.reserve(plan, route, ctx);
    const role: CallRole = plan.record.attemptEndpoints.length === 0 ? "first" : triedOn(plan, route.endpoint) ? "retry" : "fallback";
    return this.start(plan, route, role, ctx);
  }

  /**
   * Reserve the call on the shared counters (one round trip); when they refuse, the endpoint
   * is blocked like any gated one and the choice is made again, or the request waits.
   */
  private async reserve(plan: Plan, route: Route, ctx: CallContext): Promise<Route> {
    const reserver = this.d.reserver!;
    for (;;) {
      plan.gate.upstreamModel = route.upstreamModel;
      const pending = reserver.reserve(route.endpoint, plan.gate);
      if (pending === undefined) return route;
      const block = await pending;
      if (!block) {
        if (!ctx.signal.aborted) return route;
        reserver.release(route.endpoint, plan.record);
        throw abortedError(plan, ctx.signal);
      }
      if (ctx.signal.aborted) throw abortedError(plan, ctx.signal);
      plan.record.blocked.set(route.endpoint.name, block);
      route = this.d.choose(plan) ?? (await this.waitForRoute(plan, ctx, (r) => r));
    }
  }

  /**
   * When every provider is only at a limit, wait in the queue until one frees up; `take` gets
   * the route chosen once woken, in the same tick.
   */
  private async waitForRoute<T>(plan: Plan, ctx: CallContext, take: (route: Route) => T): Promise<T> {
    const admission = this.d.resilience.admission;
    for (;;) {
      if (!limitedOnly(plan.record.blocked)) throw exhaustedError(plan);
      plan.record.waiter ??= createWaiter(plan.priority, (e) => plan.routes.some((r) => r.endpoint === e), plan.deadline);
      const o = await admission.wait(plan.record.waiter, plan.record.blocked, ctx.signal);
      if (o.kind === "aborted") throw abortedError(plan, ctx.signal);
      if (o.kind !== "woken") throw waitError(plan, o, this.d.settings().queue.max_size);
      const route = this.d.choose(plan);
      if (route) return take(route);
      admission.passOn(plan.record.waiter);
    }
  }

  /**
   * Start a call on `route` now (no checks: the caller chose it). `leg`: an extra upstream call
   * of the current attempt (racing, hedging), counted in upstream_calls but not in attempts.
   */
  start(plan: Plan, route: Route, role: CallRole, ctx: CallContext, leg = false): Attempt {
    const r = plan.record;
    const t = this.d.totals;
    const e = route.endpoint;
    const now = this.clock.now();
    if (!leg) r.attempts++;
    r.upstreamCalls++;
    r.provider = e.name;
    if (!r.providersTried.includes(e.name)) r.providersTried.push(e.name);
    if (role === "retry") r.retries++;
    else if (role === "fallback") r.fallbacks++;
    if (!leg) r.attemptEndpoints.push(e);
    t.upstreamCalls++;
    if (role === "retry") t.retries++;
    else if (role === "fallback") t.fallbacks++;
    e.onCallStarted(role);
    const { breakerToken, reserved } = this.d.resilience.onStart(e, plan.pick.promptTokens, now);
    for (const o of this.d.observers) o.attemptStarted?.(r, e, role);
    const signal = attemptSignal(ctx.signal, e.config.timeout_ms, e.name, this.clock);
    this.plans.set(signal.signal, plan);
    return { route, endpoint: e, role, started: now, signal, breakerToken, reserved, ended: false };
  }

  /** The request whose attempt (or member call) `signal` aborts, if the pool started it. */
  planOf(signal: Cancel): Plan | undefined {
    return this.plans.get(signal);
  }

  /**
   * A composite's call to its member `e` starts (src/pool/member-calls.ts): counted on the
   * endpoint, its limits and breaker, and told to the observers as an attempt of `plan`, but
   * not as an attempt or upstream call of the request (the composite's own call is that).
   * `signal` is the member call's abort signal (a nested composite's calls find `plan` by it).
   */
  startMember(plan: Plan | undefined, e: Endpoint, role: CallRole, promptTokens: number, signal: Cancel): MemberAttempt {
    const now = this.clock.now();
    e.onCallStarted(role);
    const { breakerToken, reserved } = this.d.resilience.onStart(e, promptTokens, now);
    if (plan) {
      this.plans.set(signal, plan);
      for (const o of this.d.observers) o.attemptStarted?.(plan.record, e, role);
    }
    return { plan, endpoint: e, started: now, breakerToken, reserved, ended: false };
  }

  /** Record a member call's outcome once: endpoint, breaker, ejection, limits, observers. */
  endMember(at: MemberAttempt, outcome: CallOutcome): void {
    if (at.ended) return;
    at.ended = true;
    at.endpoint.onCallEnded(outcome);
    this.d.resilience.onEnd(at, outcome, this.clock.now());
    if (at.plan) for (const o of this.d.observers) o.attemptEnded?.(at.plan.record, at.endpoint, outcome);
  }

  /** Record an attempt's outcome once: endpoint, breaker, limits, queue, observers. */
  end(plan: Plan, at: Attempt, outcome: CallOutcome): void {
    if (at.ended) return;
    at.ended = true;
    at.endpoint.onCallEnded(outcome);
    this.d.resilience.onEnd(at, outcome, this.clock.now());
    for (const o of this.d.observers) o.attemptEnded?.(plan.record, at.endpoint, outcome);
  }

  /** A failed attempt: record it; throw if the client went away; else return the error. */
  fail(plan: Plan, at: Attempt, err: unknown, ctx: CallContext, partial?: Pick<CallOutcome, "usage" | "costUsd">): ProviderError {
    const pe = ProviderError.from(err, at.endpoint.name);
    const canceled = ctx.signal.aborted;
    this.end(plan, at, { ok: false, latencyMs: this.clock.now() - at.started, error: pe, canceled, ...partial });
    if (canceled) throw abortedError(plan, ctx.signal);
    plan.record.errors.push(pe);
    return pe;
  }

  /** Whether another attempt may follow this failure (spends from the retry budget if so). */
  mayContinue(plan: Plan, err: ProviderError): boolean {
    return mayRetry(plan, err, this.d.settings(), this.d.resilience.budget, this.clock.now());
  }

  /** After a failure: go on to the next attempt, or end the request with its final error. */
  continueAfter(plan: Plan, err: ProviderError): void {
    if (!this.mayContinue(plan, err)) throw exhaustedError(plan);
    plan.pick.attempt++;
  }

  observeRateLimit(e: Endpoint, info: RateLimitInfo): void {
    this.d.resilience.observe(e, info, this.clock.now());
  }

  settleUsage(plan: Plan, usage: TokenUsage | undefined, text: string): TokenUsage & { estimated: boolean } {
    return settleUsage(plan.pick.promptTokens, usage, text);
  }

  /** Cost of a call; a composite's answer is priced as its serving member's unless it has its own `pricing`. */
  costOf(e: Endpoint, upstreamModel: string, usage: TokenUsage, servedBy?: ServedBy): number {
    const member = servedBy && !e.config.pricing ? this.d.endpoint(servedBy.provider) : undefined;
    const pricing = member ? this.d.pricer.pricing(member, servedBy!.model) : this.d.pricer.pricing(e, upstreamModel);
    return costOf(pricing, usage);
  }

  /**
   * The host of a race (src/balancer/race-runner.ts) on this request's first attempt: further legs are
   * the strategy's next choices among untried endpoints, each an extra upstream call.
   */
  raceHost(plan: Plan, ctx: CallContext): RaceHost<Attempt, AttemptSignal> {
    return {
      clock: this.clock,
      view: (at) => at.endpoint,
      startLeg: (wanted) => {
        const route = this.d.choose(plan);
        if (!route || triedOn(plan, route.endpoint)) return undefined;
        if (this.d.reserver) return this.reserveLeg(plan, route, ctx, wanted);
        const at = this.start(plan, route, "first", ctx, true);
        return { candidate: at, attempt: at.signal, started: at.started };
      },
      endLeg: (leg, outcome) => {
        leg.attempt.done();
        const canceled = outcome.canceled || ctx.signal.aborted;
        this.end(plan, leg.candidate, { ...outcome, canceled });
        if (!canceled && outcome.error) plan.record.errors.push(outcome.error);
      },
      decided: (entrants, winner) =>
        this.raceDecided(
          plan,
          entrants.map((a) => a.endpoint.name),
          winner.endpoint.name,
        ),
    };
  }

  /**
   * A race leg with shared limits: reserved on the shared counters before it starts; a
   * refusal blocks the endpoint and the strategy chooses again among untried ones. Never
   * waits in the queue: a leg the cluster has no room for is simply not raced.
   */
  private async reserveLeg(plan: Plan, route: Route, ctx: CallContext, wanted: () => boolean): Promise<Leg<Attempt, AttemptSignal> | undefined> {
    const reserver = this.d.reserver!;
    for (;;) {
      let block;
      try {
        plan.gate.upstreamModel = route.upstreamModel;
        block = await reserver.reserve(route.endpoint, plan.gate);
      } catch {
        return undefined;
      }
      if (!block) {
        if (ctx.signal.aborted || !wanted()) {
          reserver.release(route.endpoint, plan.record);
          return undefined;
        }
        const at = this.start(plan, route, "first", ctx, true);
        return { candidate: at, attempt: at.signal, started: at.started };
      }
      if (ctx.signal.aborted || !wanted()) return undefined;
      plan.record.blocked.set(route.endpoint.name, block);
      const next = this.d.choose(plan);
      if (!next || triedOn(plan, next.endpoint)) return undefined;
      route = next;
    }
  }

  /**
   * A composite's member call with shared limits (src/pool/member-calls.ts): reserved before
   * it starts; false when the cluster refuses it (the member counts as blocked) or the
   * request (or the composite's race: `wanted`) no longer needs it. undefined: no shared
   * limits, start now.
   */
  reserveMember(plan: Plan | undefined, e: Endpoint, signal: Cancel, wanted?: () => boolean): Promise<boolean> | undefined {
    const reserver = this.d.reserver;
    if (!reserver || !plan) return undefined;
    // The reservation reads the request's sizes and record, not the member's model.
    const pending = reserver.reserve(e, plan.gate);
    if (pending === undefined) return undefined;
    return pending.then(
      (block) => {
        // A refused member is skipped by the composite; the shared gate remembers the refusal.
        if (block) return false;
        if (!signal.aborted && (wanted === undefined || wanted())) return true;
        reserver.release(e, plan.record);
        return false;
      },
      () => false,
    );
  }

  /** A race leg's own signal (src/balancer/race-runner.ts combines the attempt's with the race's)
   * belongs to the same request: composites called on it find their request (planOf). */
  alias<T extends Cancel>(signal: T, plan: Plan): T {
    this.plans.set(signal, plan);
    return signal;
  }

  /** Tell the observers who raced and who won (a composite's race among its members too). */
  raceDecided(plan: Plan | undefined, entrants: readonly string[], winner: string): void {
    if (!plan) return;
    for (const o of this.d.observers) o.raceDecided?.(plan.record, entrants, winner);
  }
}
