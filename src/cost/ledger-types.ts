/**
 * What every cost ledger backend stores and answers (SQLite in ledger.ts, PostgreSQL in
 * ledger-postgres.ts). Kept apart from both so the backends and the SQLite writer import it
 * without importing each other.
 */

export interface LedgerEntry {
  /** Wall-clock ms. */
  ts: number;
  requestId: string;
  /**
   * Which priced attempt of the request this is (0 first; racing and retries can price more
   * than one). With requestId and ts it is the row's idempotency key in PostgreSQL.
   */
  seq?: number;
  tenant: string;
  provider: string;
  /** Public model name. */
  model: string;
  upstreamModel: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Usage estimated by the pool (the upstream reported none). */
  estimated: boolean;
  costUsd: number;
}

/** Usage and cost summed under one key. */
export interface Aggregate {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface LedgerTotals {
  byProvider: Map<string, Aggregate>;
  byModel: Map<string, Aggregate>;
  byTenant: Map<string, Aggregate>;
}

export interface SpendByScope {
  tenants: Map<string, number>;
  providers: Map<string, number>;
}

export interface Ledger {
  /** Where it writes: a file path, ":memory:", or a PostgreSQL URL without its password. */
  readonly path: string;
  /** Queue one call for writing: no I/O. */
  append(e: LedgerEntry): void;
  /** Send every queued call to the writer now (one transaction). */
  flush(): void;
  /** Flush, and resolve once everything appended so far is written. */
  drain(): Promise<void>;
  /** Calls appended and not yet written. */
  readonly pending: number;
  /** Totals since the ledger began, by provider, model and tenant. */
  totals(): Promise<LedgerTotals>;
  /** Spend (USD) on days >= `fromDay` ("YYYY-MM-DD"), by tenant and by provider. */
  spendSince(fromDay: string): Promise<SpendByScope>;
  /** The last `limit` calls, newest first (audits, tests). */
  recent(limit: number): Promise<LedgerEntry[]>;
  /** Races entered and won by provider, since the ledger began (src/metrics/race-tally.ts). */
  raceCounts(): Promise<Map<string, RaceCount>>;
  /** Add race counts (batched by the race tally, about once a second). */
  addRaceCounts(deltas: ReadonlyMap<string, RaceCount>): Promise<void>;
  /** Delete per-call rows older than the retention; resolves with how many went. */
  prune(): Promise<number>;
  /** Write everything, stop the writer and close the file or connections. */
  close(): Promise<void>;
}

/** One provider's race counts (GetPoolStats race_entries, race_wins). */
export interface RaceCount {
  entries: number;
  wins: number;
}

/** "YYYY-MM-DD" of a wall-clock time, in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
