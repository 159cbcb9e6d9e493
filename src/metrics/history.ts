/**
 * A short server-side history of each provider's counters, so the dashboard opens with charts
 * instead of an empty first view (its own history lives only as long as the browser tab).
 * Every `intervalMs` it samples each provider's cumulative requests and failures and its p50
 * latency into a fixed ring of `keep` slots: memory is bounded (providers x keep x 3 numbers)
 * and a sample costs no allocation once a provider's rings exist.
 */
export interface HistorySource {
  /** The providers now configured, with their cumulative counters. */
  providers(): Iterable<{ name: string; requests: number; failures: number; p50Ms: number }>;
}

export interface StatsHistoryOptions {
  source: HistorySource;
  /** Sample period. Default 1000 ms. */
  intervalMs?: number;
  /** Samples kept. Default 900 (15 minutes at 1 s). */
  keep?: number;
  /** Wall clock for the sample times shown (default Date.now). */
  now?: () => number;
}

export interface HistorySnapshot {
  intervalMs: number;
  /** Sample times, ms since the epoch, oldest first. */
  at: number[];
  /** Per provider, aligned with `at` (null before the provider existed). */
  providers: Record<string, { requests: (number | null)[]; failures: (number | null)[]; p50Ms: (number | null)[] }>;
}

export interface StatsHistory {
  start(): void;
  stop(): void;
  /** Take one sample now (the timer calls this; tests call it directly). */
  sample(): void;
  snapshot(): HistorySnapshot;
}

interface Rings {
  requests: Float64Array;
  failures: Float64Array;
  p50: Float64Array;
  /** Sample count when this provider was first seen. */
  since: number;
}

export function createStatsHistory(opts: StatsHistoryOptions): StatsHistory {
  const intervalMs = opts.intervalMs ?? 1000;
  const keep = opts.keep ?? 900;
  const now = opts.now ?? Date.now;
  const at = new Float64Array(keep);
  const rings = new Map<string, Rings>();
  let n = 0; // samples taken
  let timer: NodeJS.Timeout | undefined;

  const sample = () => {
    const slot = n % keep;
    at[slot] = now();
    const seen = new Set<string>();
    for (const p of opts.source.providers()) {
      let r = rings.get(p.name);
      if (!r) rings.set(p.name, (r = { requests: new Float64Array(keep), failures: new Float64Array(keep), p50: new Float64Array(keep), since: n }));
      r.requests[slot] = p.requests;
      r.failures[slot] = p.failures;
      r.p50[slot] = p.p50Ms;
      seen.add(p.name);
    }
    for (const name of rings.keys()) if (!seen.has(name)) rings.delete(name); // left the config
    n++;
  };

  return {
    start() {
      if (timer) return;
      timer = setInterval(sample, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    sample,
    snapshot() {
      const count = Math.min(n, keep);
      const first = n - count;
      const out: HistorySnapshot = { intervalMs, at: [], providers: {} };
      for (let i = first; i < n; i++) out.at.push(at[i % keep]!);
      for (const [name, r] of rings) {
        const col = (a: Float64Array) => {
          const vals: (number | null)[] = [];
          for (let i = first; i < n; i++) vals.push(i < r.since ? null : a[i % keep]!);
          return vals;
        };
        out.providers[name] = { requests: col(r.requests), failures: col(r.failures), p50Ms: col(r.p50) };
      }
      return out;
    },
  };
}
