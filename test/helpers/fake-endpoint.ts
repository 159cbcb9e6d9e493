/**
 * Fake endpoint views and pick contexts for strategy unit tests: plain objects whose state a
 * test sets by hand, and a context driven by a fake clock and a seeded random source.
 */
import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema, type ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { EndpointView, PickContext, Pricing } from "../../src/balancer/strategy.js";
import { peakEwma } from "../../src/pool/endpoint.js";

export interface FakeView extends EndpointView {
  name: string;
  weight: number;
  priority: number;
  inFlight: number;
  maxConcurrency: number;
  ewmaLatencyMs: number;
  ewmaTtftMs: number;
  errorRate: number;
  samples: number;
  pricing: Pricing;
  lastCompletedAt: number;
  lastFailedAt: number;
  /** When the calls in flight started, on average (inFlightAgeMs). */
  inFlightSince?: number;
  /** Samples latencyPercentile() reads (unary / stream). */
  latencies: number[];
  ttfts: number[];
}

export function fakeView(name: string, init: Partial<Omit<FakeView, "latencyPercentile" | "inFlightAgeMs">> = {}): FakeView {
  const v: FakeView = {
    name,
    type: "fake",
    weight: 1,
    priority: 1,
    inFlight: 0,
    maxConcurrency: 0,
    ewmaLatencyMs: 0,
    ewmaTtftMs: 0,
    errorRate: 0,
    samples: 0,
    pricing: { inputPer1m: 0, outputPer1m: 0, cachedInputPer1m: 0 },
    lastCompletedAt: 0,
    lastFailedAt: 0,
    latencies: [],
    ttfts: [],
    ...init,
    inFlightAgeMs(now: number) {
      return v.inFlight > 0 && v.inFlightSince !== undefined ? now - v.inFlightSince : 0;
    },
    latencyPercentile(p: number, stream: boolean) {
      const s = [...(stream ? v.ttfts : v.latencies)].sort((a, b) => a - b);
      if (s.length === 0) return undefined;
      return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
    },
  };
  return v;
}

/** mulberry32: deterministic uniform [0, 1). */
export function seededRandom(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FakeContext = { -readonly [K in keyof PickContext]: PickContext[K] };

export function fakeContext(init: Partial<FakeContext> = {}): FakeContext {
  return {
    request: init.request ?? (create(ChatRequestSchema, { messages: [{ role: "user", content: "hi" }] }) as ChatRequest),
    stream: false,
    promptTokens: 100,
    maxTokens: 100,
    attempt: 1,
    now: 0,
    random: seededRandom(7),
    pricing: (v) => v.pricing,
    ...init,
  };
}

/** How many of `picks` went to each name. */
export function counts(names: readonly string[], picks: (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const p of picks) if (p) out[p] = (out[p] ?? 0) + 1;
  return out;
}

/**
 * Record a finished call on a fake view the way Endpoint.onCallEnded does (peak EWMA,
 * error-rate EWMA over ~20 calls, samples, last completion), so strategy tests can drive
 * feedback loops without a pool.
 */
export function complete(v: FakeView, now: number, latencyMs: number, ok = true, ttftMs?: number): void {
  v.samples++;
  v.lastCompletedAt = now;
  if (ok) {
    v.errorRate -= v.errorRate / 20;
    v.ewmaLatencyMs = peakEwma(v.ewmaLatencyMs, latencyMs, now - ((v as { _at?: number })._at ?? 0));
    (v as { _at?: number })._at = now;
    v.latencies.push(latencyMs);
    if (ttftMs !== undefined) {
      v.ewmaTtftMs = peakEwma(v.ewmaTtftMs, ttftMs, now - ((v as { _tat?: number })._tat ?? 0));
      (v as { _tat?: number })._tat = now;
      v.ttfts.push(ttftMs);
    }
  } else {
    v.lastFailedAt = now;
    v.errorRate += (1 - v.errorRate) / 20;
  }
}
