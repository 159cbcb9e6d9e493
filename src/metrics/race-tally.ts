/**
 * Races entered and won, per provider (GetPoolStats race_entries and race_wins): a pool
 * observer (src/pool/observer.ts raceDecided) that counts every race of two legs or more, at
 * the pool's level (strategy `racing`) and inside racing composites (their members). With a
 * store (the cost ledger, src/cost/ledger.ts), counts start from what it holds and the new
 * ones are written in one small batch every `flushIntervalMs` and at close, so they survive
 * restarts without a write per race.
 */
import type { RaceCount } from "../cost/ledger.js";
import type { PoolObserver } from "../pool/observer.js";
import type { Clock } from "../util/clock.js";

/** The ledger (SQLite or PostgreSQL) or any store of counts; either may answer later. */
export interface RaceTallyStore {
  raceCounts(): Map<string, RaceCount> | Promise<Map<string, RaceCount>>;
  addRaceCounts(deltas: ReadonlyMap<string, RaceCount>): void | Promise<void>;
}

export interface RaceTallyOptions {
  /** Where counts persist; none keeps them in memory only. */
  store?: RaceTallyStore;
  clock: Clock;
  /** How often new counts are written to the store. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Told when a write fails (the counts are kept and retried). */
  onError?: (err: Error) => void;
}

export interface RaceTally {
  readonly observer: PoolObserver;
  /** A provider's counts ({0, 0} when it never raced). */
  counts(provider: string): RaceCount;
  /** Write new counts to the store now. */
  flush(): void;
  /** Flush and stop the timer. */
  close(): void;
}

const NONE: RaceCount = Object.freeze({ entries: 0, wins: 0 });

export function createRaceTally(o: RaceTallyOptions): RaceTally {
  const totals = new Map<string, RaceCount>();
  let pending = new Map<string, RaceCount>();
  const addInto = (m: Map<string, RaceCount>, name: string, d: RaceCount) => {
    const c = m.get(name) ?? { entries: 0, wins: 0 };
    c.entries += d.entries;
    c.wins += d.wins;
    m.set(name, c);
  };
  // What the store held before this process: added under what was counted meanwhile.
  const stored = o.store?.raceCounts();
  if (stored instanceof Promise) stored.then((m) => m.forEach((d, name) => addInto(totals, name, d)), (err: Error) => o.onError?.(err));
  else stored?.forEach((d, name) => addInto(totals, name, d));
  let cancel: (() => void) | undefined;
  const interval = o.flushIntervalMs ?? 1000;

  const bump = (m: Map<string, RaceCount>, name: string, win: boolean) => {
    let c = m.get(name);
    if (!c) m.set(name, (c = { entries: 0, wins: 0 }));
    c.entries++;
    if (win) c.wins++;
  };
  const flush = () => {
    cancel?.();
    cancel = undefined;
    if (!o.store || pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const failed = (err: Error) => {
      // Keep them for the next flush.
      batch.forEach((d, name) => addInto(pending, name, d));
      o.onError?.(err);
      if (!cancel) cancel = o.clock.setTimeout(flush, interval);
    };
    try {
      const done = o.store.addRaceCounts(batch);
      if (done instanceof Promise) done.catch(failed);
    } catch (err) {
      failed(err as Error);
    }
  };

  return {
    observer: {
      raceDecided(_r, entrants, winner) {
        for (const name of entrants) {
          bump(totals, name, name === winner);
          if (o.store) bump(pending, name, name === winner);
        }
        if (o.store && !cancel) cancel = o.clock.setTimeout(flush, interval);
      },
    },
    counts: (provider) => totals.get(provider) ?? NONE,
    flush,
    close: flush,
  };
}
