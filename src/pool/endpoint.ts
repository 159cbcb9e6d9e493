/**
 * An endpoint: one configured provider plus everything the pool has learned about it.
 * Outcomes of calls are reported here (onCallStarted / onCallEnded) and every reader —
 * strategies, health, stats, metrics — reads the same state. Nothing here does I/O.
 */
import { ProviderState } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { EndpointView, Pricing } from "../balancer/strategy.js";
import type { ProviderConfig } from "../config/schema.js";
import { pricingFromConfig } from "../cost/pricing.js";
import { SlidingWindow } from "../metrics/window.js";
import type { Provider, RateLimitInfo, TokenUsage } from "../core/provider.js";
import type { ProviderError } from "../core/errors.js";
import type { Clock } from "../util/clock.js";
import type { Breaker } from "../health/breaker.js";
import type { EjectionState } from "../health/ejection.js";
import type { ProbeState } from "../health/monitor.js";
import type { Limiter } from "../limits/limiter.js";

/** How the EWMAs forget: the weight of the past halves every `EWMA_HALF_LIFE_MS`. */
const EWMA_HALF_LIFE_MS = 10_000;
/** Outcomes weigh 1/ERROR_WINDOW in the error-rate EWMA. */
const ERROR_WINDOW = 20;

export type CallRole = "first" | "retry" | "fallback";

/** Mirrors llmpool.v1.RateLimitStats. A limit of 0 means none is set. */
export interface RateLimitStatus {
  rpmLimit: number;
  rpmRemaining: number;
  rpdLimit: number;
  rpdRemaining: number;
  tpmLimit: number;
  tpmRemaining: number;
  maxConcurrency: number;
  cooldownRemainingMs: number;
  rejections: number;
}

export interface CallOutcome {
  ok: boolean;
  /** Whole call, ms. */
  latencyMs: number;
  /** Streams: time to first token, ms. */
  ttftMs?: number;
  usage?: TokenUsage;
  costUsd?: number;
  error?: ProviderError;
  /** Set when the caller, not the upstream, ended the call (cancel, deadline, lost race). */
  canceled?: boolean;
  /** Rate-limit headers of a successful response. */
  rateLimit?: RateLimitInfo;
}

export class Endpoint implements EndpointView {
  readonly name: string;
  readonly type: string;
  readonly weight: number;
  readonly priority: number;
  readonly maxConcurrency: number;
  readonly pricing: Pricing;
  /** Public model name (or glob) -> upstream model name. */
  readonly models: Map<string, string>;
  /** Public embedding model name (or glob) -> upstream name (`embedding_models`). */
  readonly embeddingModels: Map<string, string>;

  inFlight = 0;
  requests = 0;
  successes = 0;
  failures = 0;
  retries = 0;
  fallbacks = 0;
  consecutiveFailures = 0;
  ejections = 0;
  promptTokens = 0;
  completionTokens = 0;
  costUsd = 0;
  lastError = "";
  ewmaLatencyMs = 0;
  ewmaTtftMs = 0;
  errorRate = 0;
  samples = 0;
  lastCompletedAt = 0;
  lastFailedAt = 0;
  /** Set while the provider is out of rotation until its config changes (e.g. bad key). */
  disabledReason = "";
  /** Requests a rate limit, concurrency cap or cool-down kept from this provider. */
  rateLimitRejections = 0;

  // Resilience state, attached by the pool (src/pool/resilience.ts) and kept with the
  // endpoint across reloads that leave its config unchanged.
  /** Circuit breaker (src/health/breaker.ts), when `circuit_breaker.enabled`. */
  breaker?: Breaker;
  /** rpm, rpd, tpm, max_concurrency and upstream cool-downs (src/limits/limiter.ts). */
  limiter?: Limiter;
  /** Passive outlier ejection (src/health/ejection.ts). */
  readonly ejection: EjectionState = { streak: 0, level: 0, until: 0 };
  /** Active health checks (src/health/monitor.ts). */
  readonly probe: ProbeState = { failures: 0, successes: 0, unhealthy: false, error: "", runs: 0 };
  /** Removed from the config by a reload: finishing its calls, taking no new ones. */
  retired = false;
  /** EWMA of the gap between stream chunks, ms (0 before any): the base of stall detection. */
  chunkGapMs = 0;

  readonly latency: SlidingWindow;
  readonly ttft: SlidingWindow;
  private ewmaAt = 0;
  /** Sum of the start times of the calls in flight (for inFlightAgeMs). */
  private inFlightStartSum = 0;
  private ttftAt = 0;

  constructor(
    readonly config: ProviderConfig,
    readonly provider: Provider,
    private readonly clock: Clock,
  ) {
    this.name = config.name;
    this.type = config.type;
    this.weight = config.weight;
    this.priority = config.priority;
    this.maxConcurrency = config.max_concurrency;
    this.pricing = pricingFromConfig(config.pricing);
    this.models = new Map(
      Array.isArray(config.models)
        ? config.models.map((m) => [m, m])
        : Object.entries(config.models),
    );
    const em = config.embedding_models ?? [];
    this.embeddingModels = new Map(Array.isArray(em) ? em.map((m) => [m, m]) : Object.entries(em));
    this.latency = new SlidingWindow(60_000);
    this.ttft = new SlidingWindow(60_000);
  }

  get capabilities() {
    return this.provider.capabilities;
  }

  /**
   * In rotation: enabled, not taken out (bad key, removed), breaker not open, not ejected,
   * passing health checks. A half-open breaker or a cool-down keeps it in rotation (the gates
   * then decide per request).
   */
  get healthy(): boolean {
    if (!this.config.enabled || this.disabledReason !== "" || this.retired || this.probe.unhealthy) return false;
    if (this.breaker !== undefined && this.breaker.state === "open") return false;
    return this.ejection.until === 0 || this.ejection.until <= this.clock.now();
  }

  get state(): ProviderState {
    if (!this.config.enabled || this.disabledReason !== "" || this.retired) return ProviderState.DISABLED;
    const breaker = this.breaker?.state;
    if (breaker === "open") return ProviderState.BREAKER_OPEN;
    const now = this.clock.now();
    if (this.ejection.until > now) return ProviderState.EJECTED;
    if (this.probe.unhealthy) return ProviderState.UNHEALTHY;
    if (breaker === "half_open") return ProviderState.BREAKER_HALF_OPEN;
    if (this.limiter !== undefined && this.limiter.cooldownRemaining(now) > 0) return ProviderState.COOLING_DOWN;
    if (this.consecutiveFailures > 0 || this.probe.failures > 0) return ProviderState.DEGRADED;
    return ProviderState.HEALTHY;
  }

  /** Why it is out of rotation, with its last error, for UNAVAILABLE messages ("" if in rotation). */
  get unavailableReason(): string {
    if (this.disabledReason) return this.disabledReason;
    if (!this.config.enabled) return "disabled in the config";
    const now = this.clock.now();
    let why = "";
    if (this.retired) why = "removed from the config";
    else if (this.breaker?.state === "open") why = `circuit breaker open, half-open in ${Math.ceil(this.breaker.resetIn(now))} ms`;
    else if (this.ejection.until > now) why = `ejected as an outlier for ${Math.ceil(this.ejection.until - now)} ms more`;
    else if (this.probe.unhealthy) why = "failing health checks";
    if (!why) return "";
    return this.lastError ? `${why}; last error: ${this.lastError}` : why;
  }

  /** Can take one more call now. */
  get saturated(): boolean {
    return this.maxConcurrency > 0 && this.inFlight >= this.maxConcurrency;
  }

  /**
   * Rate-limit headroom for stats and metrics. Without a limiter only the configured limits
   * are known; the limiter (src/limits) fills in what remains.
   */
  rateLimitStatus(now: number): RateLimitStatus {
    if (this.limiter) return this.limiter.status(now, this.rateLimitRejections);
    return {
      rpmLimit: this.config.rpm,
      rpmRemaining: this.config.rpm,
      rpdLimit: this.config.rpd,
      rpdRemaining: this.config.rpd,
      tpmLimit: this.config.tpm,
      tpmRemaining: this.config.tpm,
      maxConcurrency: this.config.max_concurrency,
      cooldownRemainingMs: 0,
      rejections: this.rateLimitRejections,
    };
  }

  /** Mean age (ms) of the calls in flight now; 0 when none. */
  inFlightAgeMs(now: number): number {
    return this.inFlight > 0 ? Math.max(0, now - this.inFlightStartSum / this.inFlight) : 0;
  }

  /** A stream delivered a chunk `gapMs` after the previous one. */
  recordChunkGap(gapMs: number): void {
    this.chunkGapMs = this.chunkGapMs === 0 ? gapMs : this.chunkGapMs * 0.9 + gapMs * 0.1;
  }

  latencyPercentile(p: number, stream: boolean): number | undefined {
    return (stream ? this.ttft : this.latency).percentile(p, this.clock.now());
  }

  onCallStarted(role: CallRole): void {
    this.inFlight++;
    this.inFlightStartSum += this.clock.now();
    this.requests++;
    if (role === "retry") this.retries++;
    else if (role === "fallback") this.fallbacks++;
  }

  onCallEnded(o: CallOutcome): void {
    this.inFlight--;
    const now = this.clock.now();
    // The call started latencyMs ago; with nothing left in flight, start the sum afresh.
    this.inFlightStartSum = this.inFlight > 0 ? this.inFlightStartSum - (now - o.latencyMs) : 0;
    if (o.canceled) return;
    this.lastCompletedAt = now;
    this.samples++;
    if (o.usage) {
      this.promptTokens += o.usage.promptTokens;
      this.completionTokens += o.usage.completionTokens;
    }
    if (o.costUsd) this.costUsd += o.costUsd;
    if (o.ok) {
      this.successes++;
      this.consecutiveFailures = 0;
      this.errorRate -= this.errorRate / ERROR_WINDOW;
      this.ewmaLatencyMs = peakEwma(this.ewmaLatencyMs, o.latencyMs, now - this.ewmaAt);
      this.ewmaAt = now;
      this.latency.record(now, o.latencyMs);
      if (o.ttftMs !== undefined) {
        this.ewmaTtftMs = peakEwma(this.ewmaTtftMs, o.ttftMs, now - this.ttftAt);
        this.ttftAt = now;
        this.ttft.record(now, o.ttftMs);
      }
    } else {
      this.failures++;
      this.lastFailedAt = now;
      this.consecutiveFailures++;
      this.errorRate += (1 - this.errorRate) / ERROR_WINDOW;
      if (o.error) {
        this.lastError = o.error.describe();
        if (o.error.kind === "auth") {
          this.disabledReason = `upstream rejected the credentials: ${o.error.message}`;
        }
      }
    }
  }
}

/**
 * Peak-sensitive EWMA (as in Finagle's and Linkerd's balancers): a slower sample counts at
 * once, a faster one decays the average by elapsed time. A slowdown is noticed on the next
 * call; a recovery over a few half-lives.
 */
export function peakEwma(current: number, sample: number, elapsedMs: number): number {
  if (current === 0 || sample > current) return sample;
  const w = Math.pow(0.5, Math.max(0, elapsedMs) / EWMA_HALF_LIFE_MS);
  return current * w + sample * (1 - w);
}
