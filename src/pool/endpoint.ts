/**
 * An endpoint: one configured provider plus what its calls showed (counts, latency, errors).
 * Outcomes of calls are reported here (onCallStarted / onCallEnded). The mechanisms that keep
 * it in or out of rotation (breaker, ejection, health checks, limits) keep their own state
 * and are asked for their verdict (src/core/mechanism.ts); this class knows none of them.
 * Nothing here does I/O.
 */
import { ProviderState } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { EndpointView, Pricing } from "../core/endpoint-view.js";
import { outOfRotation, SEVERITY, type EndpointMechanism, type MechanismState } from "../core/mechanism.js";
import type { CallOutcome, CallRole, RateLimitStatus } from "../core/outcome.js";
import type { ProviderConfig } from "../config/schema.js";
import { pricingFromConfig } from "../cost/pricing.js";
import { SlidingWindow } from "../metrics/window.js";
import { effectiveConcurrency } from "../limits/limiter.js";
import type { Provider } from "../core/provider.js";
import type { Clock } from "../util/clock.js";

/** How the EWMAs forget: the weight of the past halves every `EWMA_HALF_LIFE_MS`. */
const EWMA_HALF_LIFE_MS = 10_000;
/** Outcomes weigh 1/ERROR_WINDOW in the error-rate EWMA. */
const ERROR_WINDOW = 20;

const STATE: Record<MechanismState, ProviderState> = {
  breaker_open: ProviderState.BREAKER_OPEN,
  ejected: ProviderState.EJECTED,
  unhealthy: ProviderState.UNHEALTHY,
  breaker_half_open: ProviderState.BREAKER_HALF_OPEN,
  cooling_down: ProviderState.COOLING_DOWN,
  degraded: ProviderState.DEGRADED,
};
const RANK = new Map(SEVERITY.map((s, i) => [s, i]));

export class Endpoint implements EndpointView {
  readonly name: string;
  readonly type: string;
  readonly weight: number;
  readonly priority: number;
  /** Calls in flight at most: max_concurrency or the connection capacity, the smaller (0 = no cap). */
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
  /** Removed from the config by a reload: finishing its calls, taking no new ones. */
  private retiredFlag = false;
  /** The mechanisms whose verdicts decide its place in rotation (set by the pool). */
  private mechanisms: readonly EndpointMechanism<Endpoint>[] = [];

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
    this.maxConcurrency = effectiveConcurrency(config.max_concurrency, provider.capacity);
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

  /** The provider's connection capacity (src/core/provider.ts); undefined = unbounded. */
  get capacity(): number | undefined {
    return this.provider.capacity;
  }

  get capabilities() {
    return this.provider.capabilities;
  }

  get retired(): boolean {
    return this.retiredFlag;
  }

  /** Removed from the config by a reload: it finishes its calls and takes no new ones. */
  retire(): void {
    this.retiredFlag = true;
  }

  /** The mechanisms that judge this endpoint (src/pool/resilience.ts sets them once). */
  watchedBy(mechanisms: readonly EndpointMechanism<Endpoint>[]): void {
    this.mechanisms = mechanisms;
  }

  /** Taken out by its own record: disabled, bad key, removed from the config. */
  private get disabled(): boolean {
    return !this.config.enabled || this.disabledReason !== "" || this.retiredFlag;
  }

  /** The most severe verdict of its mechanisms, and which mechanism gave it. */
  private worst(now: number): { state: MechanismState; by: EndpointMechanism<Endpoint> } | undefined {
    let best: MechanismState | undefined;
    let by: EndpointMechanism<Endpoint> | undefined;
    for (const m of this.mechanisms) {
      const s = m.state(this, now);
      if (s !== undefined && (best === undefined || RANK.get(s)! < RANK.get(best)!)) {
        best = s;
        by = m;
      }
    }
    return best === undefined ? undefined : { state: best, by: by! };
  }

  /**
   * In rotation: enabled, not taken out (bad key, removed), and no mechanism has it out (open
   * breaker, ejection, failing health checks). A half-open breaker or a cool-down keeps it in
   * rotation (the gates then decide per request).
   */
  get healthy(): boolean {
    return this.healthyAt(this.clock.now());
  }

  /** `healthy` at `now`: the pool's choice asks every route at one instant. Hot path: no allocation. */
  healthyAt(now: number): boolean {
    if (this.disabled) return false;
    const ms = this.mechanisms;
    for (let i = 0; i < ms.length; i++) {
      const s = ms[i]!.state(this, now);
      if (s !== undefined && outOfRotation(s)) return false;
    }
    return true;
  }

  get state(): ProviderState {
    if (this.disabled) return ProviderState.DISABLED;
    const worst = this.worst(this.clock.now());
    if (worst !== undefined && RANK.get(worst.state)! < RANK.get("degraded")!) return STATE[worst.state];
    if (worst !== undefined || this.consecutiveFailures > 0) return ProviderState.DEGRADED;
    return ProviderState.HEALTHY;
  }

  /** Why it is out of rotation, with its last error, for UNAVAILABLE messages ("" if in rotation). */
  get unavailableReason(): string {
    if (this.disabledReason) return this.disabledReason;
    if (!this.config.enabled) return "disabled in the config";
    const now = this.clock.now();
    let why = "";
    if (this.retiredFlag) why = "removed from the config";
    else {
      const worst = this.worst(now);
      if (worst !== undefined && outOfRotation(worst.state)) why = worst.by.reason?.(this, now) ?? worst.state.replace("_", " ");
    }
    if (!why) return "";
    return this.lastError ? `${why}; last error: ${this.lastError}` : why;
  }

  /** Can take one more call now. */
  get saturated(): boolean {
    return this.maxConcurrency > 0 && this.inFlight >= this.maxConcurrency;
  }

  /**
   * Rate-limit headroom for stats and metrics, from the mechanism that keeps the limits
   * (src/limits/rate-limits.ts); without one only the configured limits are known.
   */
  rateLimitStatus(now: number): RateLimitStatus {
    for (const m of this.mechanisms) {
      const r = m.rateLimits?.(this, now);
      if (r) return r;
    }
    return {
      rpmLimit: this.config.rpm,
      rpmRemaining: this.config.rpm,
      rpdLimit: this.config.rpd,
      rpdRemaining: this.config.rpd,
      tpmLimit: this.config.tpm,
      tpmRemaining: this.config.tpm,
      maxConcurrency: this.config.max_concurrency,
      cooldownRemainingMs: 0,
      rejections: 0,
    };
  }

  /** Mean age (ms) of the calls in flight now; 0 when none. */
  inFlightAgeMs(now: number): number {
    return this.inFlight > 0 ? Math.max(0, now - this.inFlightStartSum / this.inFlight) : 0;
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
