/**
 * Number formatting and the per-poll history behind the rate chart. Pure functions: tested in
 * format.test.ts, used by the browser app.
 */

export function usd(v: number): string {
  if (v === 0) return "$0";
  if (Math.abs(v) < 0.01) return `$${v.toFixed(6)}`;
  if (Math.abs(v) < 100) return `$${v.toFixed(4)}`;
  return `$${v.toFixed(2)}`;
}

export function count(v: number | bigint): string {
  const n = Number(v);
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function ms(v: number): string {
  if (!v) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
}

export function pct(v: number): string {
  return `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`;
}

export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Per-provider call rates from successive counter snapshots. */
export class RateHistory {
  private last = new Map<string, number>();
  private lastAt = 0;
  readonly series = new Map<string, number[]>();

  constructor(private readonly keep = 60) {}

  /** Record counters seen at `at` (ms); returns each provider's calls/s since the last snapshot. */
  push(at: number, counters: Map<string, number>): Map<string, number> {
    const rates = new Map<string, number>();
    const dt = this.lastAt > 0 ? (at - this.lastAt) / 1000 : 0;
    for (const [name, value] of counters) {
      const prev = this.last.get(name);
      // A counter that went down was reset (provider reconfigured): count from zero.
      const delta = prev === undefined ? 0 : value >= prev ? value - prev : value;
      const rate = dt > 0 ? delta / dt : 0;
      rates.set(name, rate);
      let s = this.series.get(name);
      if (!s) this.series.set(name, (s = []));
      s.push(rate);
      if (s.length > this.keep) s.shift();
    }
    for (const name of [...this.series.keys()]) if (!counters.has(name)) this.series.delete(name);
    this.last = counters;
    this.lastAt = at;
    return rates;
  }
}
