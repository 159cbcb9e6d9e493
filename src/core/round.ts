/**
 * Numbers as people read them in responses, stats and logs: latencies to 0.1 ms, dollars to
 * 1e-12 USD. An integer divided by a power of ten is correctly rounded by IEEE division, so the
 * result prints as its short decimal (0.0000031, not 0.0000031000000000000004), with no string
 * round trip on the hot path.
 */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Exact to a millionth of a micro-dollar; sums past $9,000 keep 15 significant digits instead. */
export function roundUsd(usd: number): number {
  if (Math.abs(usd) < 9000) return Math.round(usd * 1e12) / 1e12;
  return Number(usd.toPrecision(15));
}
