/**
 * One provider's limits: configured `rpm`, `rpd`, `tpm` and `max_concurrency`, tightened live
 * by what the upstream says. A 429 (or any failure carrying a retry delay) cools the provider
 * down for that long; `x-ratelimit-remaining-*` headers are treated as a budget that counts
 * down with each call, so the pool slows a provider whose budget runs low (calls spread over
 * the time left until the upstream's reset) and stops at zero, before the upstream answers
 * 429. `check` runs on the hot path: no allocation when the provider may proceed.
 */
import type { GateBlock } from "../core/gate.js";
import type { RateLimitStatus } from "../core/outcome.js";
import type { RateLimitInfo } from "../core/provider.js";
import type { ProviderError } from "../core/errors.js";
import { WindowCounter } from "./window-counter.js";

export interface LimiterConfig {
  rpm: number;
  rpd: number;
  tpm: number;
  max_concurrency: number;
}

/** Calls in flight at most given `max_concurrency` and a connection `capacity`: the smaller wins (0 = no cap). */
export function effectiveConcurrency(maxConcurrency: number, capacity: number | undefined): number {
  if (capacity === undefined || capacity <= 0) return maxConcurrency;
  return maxConcurrency > 0 ? Math.min(maxConcurrency, capacity) : capacity;
}

/**
 * After a cool-down lifts, calls start one at a time, spaced by the provider's known rate (its
 * rpm, else the upstream's x-ratelimit-limit-requests per minute, else a twentieth of the
 * cool-down, within [5, 250] ms), each gap stretched by up to half again at random, for one
 * rate window: the waiters it held back do not all fire in the same millisecond.
 */
const RECOVERY_MS = 60_000;
const RELEASE_JITTER = 0.5;

/**
 * Shared state (src/state) in use: while `active()`, the cluster counts rpm, rpd, tpm and
 * max_concurrency and this limiter checks only what this replica learned from the upstream
 * (cool-downs, remaining/reset headers); it keeps counting its own calls, so when the shared
 * counters stop answering it falls back at once to each limit divided by `replicas`.
 */
export interface SharedMode {
  active(): boolean;
  replicas: number;
  /** The cluster's use of a provider's windows, as last read from the shared counters. */
  usage?(provider: string): { rpm: number; rpd: number; tpm: number; cooldownMs: number } | undefined;
}

/** A limit's share per replica in the local fallback (at least 1 of a non-zero limit). */
function share(limit: number, replicas: number): number {
  return limit > 0 ? Math.max(1, Math.floor(limit / replicas)) : 0;
}

/** Below this share of the upstream's request budget, calls are paced (10%, at least 2 calls). */
const PACE_BELOW = 0.1;

export class Limiter {
  private readonly rpm?: WindowCounter;
  private readonly rpd?: WindowCounter;
  private readonly tpm?: WindowCounter;
  /** Monotonic ms until which the upstream asked us to stay away. */
  cooldownUntil = 0;
  private cooldownWhy = "";
  // What the upstream's headers last said, counted down by our own calls since.
  private upRequests = Infinity;
  private upRequestsLimit = 0;
  private upRequestsResetAt = 0;
  private upTokens = Infinity;
  private upTokensResetAt = 0;
  /** Pacing: at or below this many upstream requests left, calls are spread out. */
  private paceBelow = 0;
  /** Pacing: the next call may start at this time. */
  private nextAt = 0;
  /** Calls in flight at most: the smaller of max_concurrency and the connection capacity (0 = no cap). */
  private readonly concurrency: number;
  private readonly concurrencyWhy: string;
  /** Paced release after a cool-down: until then, starts are spaced by `releaseGap`. */
  private recoverUntil = 0;
  private releaseGap = 0;
  private releaseAt = 0;

  /** The limits checked here: the configured ones, or this replica's share with shared state. */
  private readonly cfg: LimiterConfig;

  /**
   * `shared`: shared state in use (src/state). `capacity`: the provider's connection pool size
   * (src/core/provider.ts `capacity`), always this replica's own: calls beyond it would wait
   * inside the HTTP client, unseen by the queue and on the clock of `timeout_ms`, so they wait
   * in the pool's queue instead. `random`: the jitter of paced releases after a cool-down.
   */
  constructor(
    private readonly configured: LimiterConfig,
    private readonly defaultCooldownMs: () => number,
    private readonly shared?: SharedMode,
    private readonly capacity?: number,
    private readonly random: () => number = Math.random,
  ) {
    const n = shared?.replicas ?? 1;
    const cfg = (this.cfg = n > 1
      ? { rpm: share(configured.rpm, n), rpd: share(configured.rpd, n), tpm: share(configured.tpm, n), max_concurrency: share(configured.max_concurrency, n) }
      : configured);
    this.concurrency = effectiveConcurrency(cfg.max_concurrency, capacity);
    this.concurrencyWhy =
      this.concurrency > 0 && this.concurrency !== cfg.max_concurrency
        ? `connection capacity ${this.concurrency} reached (connections)`
        : `max_concurrency ${cfg.max_concurrency} reached`;
    if (cfg.rpm > 0) this.rpm = new WindowCounter(60_000, 60);
    if (cfg.rpd > 0) this.rpd = new WindowCounter(86_400_000, 288);
    if (cfg.tpm > 0) this.tpm = new WindowCounter(60_000, 60);
  }

  /** Why a call with `tokens` estimated prompt tokens may not start now, or undefined. */
  check(inFlight: number, tokens: number, now: number): GateBlock | undefined {
    const c = this.cfg;
    // With shared state the cluster counts max_concurrency; the connections are this replica's.
    const local = this.shared === undefined || !this.shared.active();
    if (local ? this.concurrency > 0 && inFlight >= this.concurrency : this.capacity !== undefined && this.capacity > 0 && inFlight >= this.capacity) {
      return { kind: "exhausted", reason: local ? this.concurrencyWhy : `connection capacity ${this.capacity} reached (connections)` };
    }
    if (now < this.cooldownUntil) {
      const left = this.cooldownUntil - now;
      return { kind: "exhausted", reason: `cooling down for ${Math.ceil(left)} ms (${this.cooldownWhy})`, retryAfterMs: left };
    }
    if (now < this.releaseAt && now < this.recoverUntil) {
      const gap = Math.round(this.releaseGap);
      return { kind: "exhausted", reason: `released after a cool-down: one call per ${gap} ms`, retryAfterMs: this.releaseAt - now };
    }
    if (this.upRequests <= 0 && now < this.upRequestsResetAt) {
      const left = this.upRequestsResetAt - now;
      return { kind: "exhausted", reason: `upstream request budget spent; resets in ${Math.ceil(left)} ms`, retryAfterMs: left };
    }
    if (this.upTokens < tokens && now < this.upTokensResetAt) {
      const left = this.upTokensResetAt - now;
      return { kind: "exhausted", reason: `upstream token budget too low (${this.upTokens} left); resets in ${Math.ceil(left)} ms`, retryAfterMs: left };
    }
    if (now < this.nextAt) {
      return { kind: "exhausted", reason: `paced: upstream budget low (${this.upRequests} requests left)`, retryAfterMs: this.nextAt - now };
    }
    if (!local) return undefined;
    if (this.rpm && this.rpm.sum(now) + 1 > c.rpm) {
      return { kind: "exhausted", reason: `rpm ${c.rpm} reached`, retryAfterMs: this.rpm.waitFor(now, 1, c.rpm) };
    }
    if (this.rpd && this.rpd.sum(now) + 1 > c.rpd) {
      return { kind: "exhausted", reason: `rpd ${c.rpd} reached`, retryAfterMs: this.rpd.waitFor(now, 1, c.rpd) };
    }
    if (this.tpm) {
      if (tokens > c.tpm) return { kind: "unavailable", reason: `prompt of ~${tokens} tokens exceeds tpm ${c.tpm}` };
      if (this.tpm.sum(now) + tokens > c.tpm) {
        return { kind: "exhausted", reason: `tpm ${c.tpm} reached`, retryAfterMs: this.tpm.waitFor(now, tokens, c.tpm) };
      }
    }
    return undefined;
  }

  /** A call starts: count it and reserve its estimated prompt tokens. */
  onStart(tokens: number, now: number): void {
    this.rpm?.add(now, 1);
    this.rpd?.add(now, 1);
    this.tpm?.add(now, tokens);
    if (now < this.recoverUntil) this.releaseAt = now + this.releaseGap * (1 + RELEASE_JITTER * this.random());
    if (now < this.upRequestsResetAt) {
      this.upRequests--;
      this.pace(now);
    }
    if (now < this.upTokensResetAt) this.upTokens -= tokens;
  }

  /**
   * A call ended: replace its token reservation (made at `startedAt`) by what it really used;
   * `used` undefined keeps the reservation (the upstream reported nothing).
   */
  settle(startedAt: number, reserved: number, used: number | undefined, now: number): void {
    if (this.tpm && used !== undefined && used !== reserved) this.tpm.adjust(startedAt, now, used - reserved);
  }

  /** A failure: a retry delay (429, or a 503 that names one) starts a cool-down. */
  onFailure(err: ProviderError, now: number): void {
    if (err.rateLimit) this.observe(err.rateLimit, now);
    let ms = err.retryAfterMs;
    if (ms === undefined && err.kind === "rate_limited") {
      const rl = err.rateLimit;
      if (rl?.remainingRequests === 0 && rl.resetRequestsMs !== undefined) ms = rl.resetRequestsMs;
      else if (rl?.remainingTokens === 0 && rl.resetTokensMs !== undefined) ms = rl.resetTokensMs;
      else ms = this.defaultCooldownMs();
    }
    if (ms === undefined || ms <= 0) return;
    if (now + ms > this.cooldownUntil) {
      this.cooldownUntil = now + ms;
      this.cooldownWhy = err.kind === "rate_limited" ? "upstream 429" : `upstream asked to retry later (${err.kind})`;
      this.recoverUntil = this.cooldownUntil + RECOVERY_MS;
      this.releaseGap = this.knownGap(ms);
      this.releaseAt = this.cooldownUntil;
    }
  }

  /** Rate-limit headers from a response, an error or a stream's first event. */
  observe(info: RateLimitInfo, now: number): void {
    if (info.remainingRequests !== undefined && info.resetRequestsMs !== undefined) {
      this.upRequests = info.remainingRequests;
      this.upRequestsResetAt = now + info.resetRequestsMs;
      if (info.limitRequests !== undefined) this.upRequestsLimit = info.limitRequests;
      this.paceBelow = Math.max(2, this.upRequestsLimit * PACE_BELOW);
      this.nextAt = 0;
      this.pace(now);
    }
    if (info.remainingTokens !== undefined && info.resetTokensMs !== undefined) {
      this.upTokens = info.remainingTokens;
      this.upTokensResetAt = now + info.resetTokensMs;
    }
  }

  /** Milliseconds between calls at the provider's known rate (see RECOVERY_MS). */
  private knownGap(cooldownMs: number): number {
    if (this.cfg.rpm > 0) return 60_000 / this.cfg.rpm;
    if (this.upRequestsLimit > 0) return 60_000 / this.upRequestsLimit;
    return Math.min(250, Math.max(5, cooldownMs / 20));
  }

  /** Spread the upstream requests left over the time until its reset, once few are left. */
  private pace(now: number): void {
    const left = this.upRequests;
    if (left > 0 && left <= this.paceBelow && now < this.upRequestsResetAt) {
      this.nextAt = now + (this.upRequestsResetAt - now) / (left + 1);
    }
  }

  /** Milliseconds left of an upstream-imposed hold (429 cool-down or a spent budget). */
  cooldownRemaining(now: number): number {
    let until = this.cooldownUntil;
    if (this.upRequests <= 0 && this.upRequestsResetAt > until) until = this.upRequestsResetAt;
    return until > now ? until - now : 0;
  }

  status(now: number, rejections: number, provider?: string): RateLimitStatus {
    const shared = this.shared?.active() ? this.shared : undefined;
    const c = shared ? this.configured : this.cfg;
    const cluster = shared && provider !== undefined ? shared.usage?.(provider) : undefined;
    if (cluster) {
      const room = (limit: number, used: number) => (limit > 0 ? Math.max(0, Math.floor(limit - used)) : 0);
      return {
        rpmLimit: c.rpm,
        rpmRemaining: room(c.rpm, cluster.rpm),
        rpdLimit: c.rpd,
        rpdRemaining: room(c.rpd, cluster.rpd),
        tpmLimit: c.tpm,
        tpmRemaining: room(c.tpm, cluster.tpm),
        maxConcurrency: c.max_concurrency,
        cooldownRemainingMs: Math.max(this.cooldownRemaining(now), cluster.cooldownMs),
        rejections,
      };
    }
    const left = (w: WindowCounter | undefined, limit: number) => (w ? Math.max(0, Math.floor(limit - w.sum(now))) : limit);
    return {
      rpmLimit: c.rpm,
      rpmRemaining: left(this.rpm, c.rpm),
      rpdLimit: c.rpd,
      rpdRemaining: left(this.rpd, c.rpd),
      tpmLimit: c.tpm,
      tpmRemaining: left(this.tpm, c.tpm),
      maxConcurrency: c.max_concurrency,
      cooldownRemainingMs: this.cooldownRemaining(now),
      rejections,
    };
  }
}
