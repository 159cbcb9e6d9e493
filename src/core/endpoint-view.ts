/**
 * What a strategy, a gate or an observer may read about an endpoint: a read-only view of the
 * pool's endpoint (src/pool/endpoint.ts), which is the one class that implements it.
 */
export interface Pricing {
  /** USD per million prompt tokens. */
  inputPer1m: number;
  /** USD per million completion tokens. */
  outputPer1m: number;
  /** USD per million cached prompt tokens. */
  cachedInputPer1m: number;
}

/** What a strategy may read about an endpoint. */
export interface EndpointView {
  readonly name: string;
  readonly type: string;
  readonly weight: number;
  readonly priority: number;
  /** Calls in flight now. */
  readonly inFlight: number;
  /** 0 means unlimited. */
  readonly maxConcurrency: number;
  /** Peak-sensitive EWMA of successful call latency (ms); 0 before the first sample. */
  readonly ewmaLatencyMs: number;
  /** EWMA of time to first token of streams (ms); 0 before the first sample. */
  readonly ewmaTtftMs: number;
  /** Recent failure share in [0, 1]. */
  readonly errorRate: number;
  /** Completed calls observed so far. */
  readonly samples: number;
  readonly pricing: Pricing;
  /** Monotonic ms of the last completed call (0 when none). */
  readonly lastCompletedAt: number;
  /** Monotonic ms of the last failed call (0 when none). */
  readonly lastFailedAt: number;
  /** Mean age (ms) of the calls in flight at `now`; 0 when none. Calls outstanding longer than
   * the EWMA say an endpoint has slowed before any slow call completes. */
  inFlightAgeMs(now: number): number;
  /** Latency percentile over the recent window (ms); undefined without samples. */
  latencyPercentile(p: number, stream: boolean): number | undefined;
}
