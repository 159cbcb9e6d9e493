/**
 * Warmup: before the first real request, `concurrency` providers at a time open their
 * keep-alive connections (TCP and TLS handshakes, HTTP/1.1 or HTTP/2 set-up) through their
 * adapter's `warmup()`, so the first caller does not pay for them. Bounded by `timeoutMs` in
 * all: a blackholed upstream delays start-up by at most that much. Failures are not errors
 * (the provider's health and breaker deal with a dead upstream); they are only reported.
 */
import { setMaxListeners } from "node:events";
import type { Endpoint } from "../pool/endpoint.js";
import type { Clock } from "../util/clock.js";

export interface WarmupOptions {
  /** Providers warmed at once. */
  concurrency: number;
  /** Upper bound for the whole warmup, ms. */
  timeoutMs: number;
  clock: Clock;
}

export interface WarmupReport {
  warmed: string[];
  failed: string[];
  ms: number;
}

export async function warmupEndpoints(endpoints: readonly Endpoint[], opts: WarmupOptions): Promise<WarmupReport> {
  const started = opts.clock.now();
  const todo = endpoints.filter((e) => e.provider.warmup && e.config.enabled);
  const report: WarmupReport = { warmed: [], failed: [], ms: 0 };
  if (todo.length === 0) return report;
  const ac = new AbortController();
  // One signal for every provider's warmup: with more than 10 providers that is more than
  // Node's default listener limit, and not a leak (all end with the warmup).
  setMaxListeners(0, ac.signal);
  const cancel = opts.clock.setTimeout(() => ac.abort(new Error("warmup timed out")), opts.timeoutMs);
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !ac.signal.aborted) {
      const e = todo[next++]!;
      try {
        await e.provider.warmup!(ac.signal);
        report.warmed.push(e.name);
      } catch {
        report.failed.push(e.name);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, todo.length) }, worker));
  } finally {
    cancel();
  }
  report.ms = opts.clock.now() - started;
  return report;
}
