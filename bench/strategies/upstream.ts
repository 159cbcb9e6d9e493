/**
 * A simulated upstream for the strategy benchmark: a Provider with `capacity` concurrent slots
 * (calls beyond them wait in a FIFO queue, so an overloaded upstream gets slower, as real ones
 * do), a latency distribution (log-normal body, optional heavy tail), a failure rate, and
 * phases that change both over time (a slowdown, an outage). Its true state is public so the
 * oracle can read it.
 */
import { type ChatResult, type Provider, type StreamEvent, type UpstreamCall } from "../../src/core/provider.js";
import { ProviderError } from "../../src/core/errors.js";
import type { Clock } from "../../src/util/clock.js";

export interface Phase {
  /** Simulated ms. */
  from: number;
  to: number;
  /** Latency multiplier during the phase. */
  slowdown?: number;
  /** Failure rate during the phase (replaces the base rate). */
  failureRate?: number;
}

export interface UpstreamSpec {
  name: string;
  /** Median latency of a successful call, ms. */
  medianMs: number;
  /** Log-normal shape: 0.1 is tight, 0.5 is wide. */
  sigma: number;
  /** Share of calls that take `tailFactor` (uniform in [1, 2) x tailFactor) times longer. */
  tailShare?: number;
  tailFactor?: number;
  failureRate: number;
  /** A failure answers after this long (a quick 503). */
  failMs: number;
  capacity: number;
  phases?: Phase[];
  /** USD per 1M tokens: input, output. */
  price: [number, number];
}

export type Rng = () => number;

/** mulberry32. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

interface Job {
  call: UpstreamCall;
  resolve: (r: ChatResult) => void;
  reject: (e: unknown) => void;
  cancelTimer?: () => void;
  state: "queued" | "running" | "done";
  onAbort: () => void;
}

export class SimUpstream implements Provider {
  readonly name: string;
  readonly type = "sim";
  readonly capabilities = { vision: true, tools: true, contextWindow: 0 };
  busy = 0;
  readonly queue: Job[] = [];
  calls = 0;
  private seq = 0;

  constructor(
    readonly spec: UpstreamSpec,
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {
    this.name = spec.name;
  }

  phaseAt(t: number): Phase | undefined {
    return this.spec.phases?.find((p) => t >= p.from && t < p.to);
  }

  /** True mean latency of a successful call at time t (what the oracle knows). */
  meanMs(t: number): number {
    const s = this.spec;
    const body = s.medianMs * Math.exp((s.sigma * s.sigma) / 2);
    const tail = s.tailShare ?? 0;
    const mean = (1 - tail) * body + tail * body * (s.tailFactor ?? 1) * 1.5;
    return mean * (this.phaseAt(t)?.slowdown ?? 1);
  }

  failureRateAt(t: number): number {
    return this.phaseAt(t)?.failureRate ?? this.spec.failureRate;
  }

  chat(call: UpstreamCall): Promise<ChatResult> {
    this.calls++;
    return new Promise<ChatResult>((resolve, reject) => {
      const job: Job = {
        call,
        resolve,
        reject,
        state: "queued",
        onAbort: () => {
          if (job.state === "done") return;
          if (job.state === "queued") this.queue.splice(this.queue.indexOf(job), 1);
          else {
            job.cancelTimer?.();
            this.busy--;
          }
          job.state = "done";
          const reason = call.signal.reason;
          reject(reason instanceof ProviderError ? reason : new ProviderError({ provider: this.name, kind: "canceled", message: "request canceled" }));
          this.startQueued();
        },
      };
      if (call.signal.aborted) return job.onAbort();
      call.signal.addEventListener("abort", job.onAbort, { once: true });
      this.queue.push(job);
      this.startQueued();
    });
  }

  private startQueued(): void {
    while (this.busy < this.spec.capacity && this.queue.length > 0) this.start(this.queue.shift()!);
  }

  private start(job: Job): void {
    const s = this.spec;
    const now = this.clock.now();
    this.busy++;
    job.state = "running";
    const fails = this.rng() < this.failureRateAt(now);
    let ms: number;
    if (fails) ms = s.failMs * (0.5 + this.rng());
    else {
      ms = s.medianMs * Math.exp(s.sigma * normal(this.rng));
      if (s.tailShare && this.rng() < s.tailShare) ms *= (s.tailFactor ?? 1) * (1 + this.rng());
      ms *= this.phaseAt(now)?.slowdown ?? 1;
    }
    job.cancelTimer = this.clock.setTimeout(() => {
      if (job.state !== "running") return;
      job.state = "done";
      this.busy--;
      job.call.signal.removeEventListener("abort", job.onAbort);
      this.startQueued();
      if (fails) {
        job.reject(new ProviderError({ provider: this.name, kind: "overloaded", status: 503, message: "simulated failure" }));
      } else {
        job.resolve({
          id: `${this.name}-${++this.seq}`,
          model: job.call.model,
          content: "ok",
          toolCalls: [],
          finishReason: "stop",
          rawFinishReason: "stop",
          usage: { promptTokens: 500, completionTokens: 200, cachedTokens: 0 },
        });
      }
    }, ms);
  }

  // eslint-disable-next-line require-yield
  async *stream(): AsyncGenerator<StreamEvent> {
    throw new Error("the strategy benchmark drives unary calls only");
  }

  async close(): Promise<void> {}
}
