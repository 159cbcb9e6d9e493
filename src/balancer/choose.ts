/**
 * Small selection helpers shared by strategies: arg-min with random tie-breaking, weighted
 * random choice, and the latency an endpoint is judged by.
 */
import type { EndpointView } from "./strategy.js";

/**
 * The candidate with the lowest score; exact ties are broken uniformly at random (reservoir
 * sampling), so equal endpoints share traffic instead of the first one taking it all.
 */
export function argmin<T>(candidates: readonly T[], score: (c: T, i: number) => number, random: () => number): T | undefined {
  let best: T | undefined;
  let bestScore = Infinity;
  let ties = 0;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    const s = score(c, i);
    if (s < bestScore) {
      best = c;
      bestScore = s;
      ties = 1;
    } else if (s === bestScore) {
      ties++;
      if (random() * ties < 1) best = c;
    }
  }
  // Every score NaN or Infinity: fall back to the first candidate rather than declining.
  return best ?? candidates[0];
}

/** One candidate with probability proportional to `weightOf` (all-zero weights: uniform). */
export function weightedPick<T>(candidates: readonly T[], weightOf: (c: T) => number, random: () => number): T | undefined {
  const n = candidates.length;
  if (n <= 1) return candidates[0];
  let total = 0;
  for (const c of candidates) total += Math.max(0, weightOf(c));
  if (!(total > 0)) return candidates[Math.floor(random() * n)];
  let r = random() * total;
  for (const c of candidates) {
    r -= Math.max(0, weightOf(c));
    if (r < 0) return c;
  }
  return candidates[n - 1];
}

/**
 * The latency an endpoint is judged by: time to first token for streams (what a streaming
 * caller waits for), whole-call latency otherwise; 0 when nothing is known yet.
 */
export function latencyOf(v: EndpointView, stream: boolean): number {
  if (stream && v.ewmaTtftMs > 0) return v.ewmaTtftMs;
  return v.ewmaLatencyMs;
}
