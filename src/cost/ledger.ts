/**
 * The cost ledger: every priced upstream call in an embedded SQLite file (better-sqlite3), so
 * totals and budgets survive restarts.
 *
 * Two tables: `calls` holds one row per call (for audits and exports; pruned after
 * `retention_days`), `daily` holds running totals per UTC day, provider, model and tenant
 * (kept forever; what totals and budgets are read from at start-up).
 *
 * Writes never happen on the request path: append() pushes onto an in-memory batch, and the
 * batch is written in one transaction with prepared statements at most `flushIntervalMs`
 * later (or at once when it reaches `maxBatch`), and on close(). A crash loses at most one
 * interval of calls.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import type { Clock } from "../util/clock.js";

export interface LedgerEntry {
  /** Wall-clock ms. */
  ts: number;
  requestId: string;
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

export interface LedgerOptions {
  /** File path, or ":memory:" (nothing survives the process). Parent folders are created. */
  path: string;
  /** Longest time a call waits in memory before it is written. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Rows that trigger an immediate write. Default 1024: one transaction of ~1 ms. */
  maxBatch?: number;
  /** Per-call rows older than this many days are deleted at open and daily (0 = never). Default 90. */
  retentionDays?: number;
  clock: Clock;
  /** Told about write failures (the batch is kept and retried). */
  onError?: (err: Error) => void;
}

export interface Ledger {
  readonly path: string;
  /** Queue one call for writing: no I/O. */
  append(e: LedgerEntry): void;
  /** Write every queued call now (one transaction). */
  flush(): void;
  /** Calls queued and not yet written. */
  readonly pending: number;
  /** Totals since the ledger began, by provider, model and tenant. */
  totals(): LedgerTotals;
  /** Spend (USD) on days >= `fromDay` ("YYYY-MM-DD"), by tenant and by provider. */
  spendSince(fromDay: string): { tenants: Map<string, number>; providers: Map<string, number> };
  /** The last `limit` calls, newest first (audits, tests). */
  recent(limit: number): LedgerEntry[];
  /** Delete per-call rows older than the retention; returns how many went. */
  prune(): number;
  /** Flush and close the file. */
  close(): void;
}

/** "YYYY-MM-DD" of a wall-clock time, in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
  id INTEGER PRIMARY KEY,
  ts_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  upstream_model TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  estimated INTEGER NOT NULL,
  cost_usd REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_ts ON calls (ts_ms);
CREATE TABLE IF NOT EXISTS daily (
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  tenant TEXT NOT NULL,
  requests INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  PRIMARY KEY (day, provider, model, tenant)
) WITHOUT ROWID;
`;

const SCHEMA_VERSION = "1";
const DAY_MS = 86_400_000;
/** Past this many unwritten calls (a failing disk), the oldest are dropped and reported. */
const MAX_PENDING = 200_000;

export function openLedger(opts: LedgerOptions): Ledger {
  const path = opts.path === ":memory:" ? opts.path : resolve(opts.path);
  const flushIntervalMs = opts.flushIntervalMs ?? 1000;
  const maxBatch = opts.maxBatch ?? 1024;
  const retentionDays = opts.retentionDays ?? 90;
  const clock = opts.clock;
  const onError = opts.onError ?? (() => undefined);

  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  if (path !== ":memory:") {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
  }
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);
  const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
  if (version === undefined) {
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('created_at', ?)").run(SCHEMA_VERSION, new Date(clock.wallNow()).toISOString());
  } else if (version !== SCHEMA_VERSION) {
    db.close();
    throw new Error(`ledger ${path} has schema version ${version}; this llmpool reads version ${SCHEMA_VERSION}`);
  }

  const insertCall = db.prepare(
    `INSERT INTO calls (ts_ms, request_id, tenant, provider, model, upstream_model, prompt_tokens, completion_tokens, cached_tokens, estimated, cost_usd)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const upsertDaily = db.prepare(
    `INSERT INTO daily (day, provider, model, tenant, requests, prompt_tokens, completion_tokens, cached_tokens, cost_usd)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (day, provider, model, tenant) DO UPDATE SET
       requests = requests + excluded.requests,
       prompt_tokens = prompt_tokens + excluded.prompt_tokens,
       completion_tokens = completion_tokens + excluded.completion_tokens,
       cached_tokens = cached_tokens + excluded.cached_tokens,
       cost_usd = cost_usd + excluded.cost_usd`,
  );
  const deleteOld = db.prepare("DELETE FROM calls WHERE ts_ms < ?");

  let queue: LedgerEntry[] = [];
  let cancelTimer: (() => void) | undefined;
  let closed = false;
  let lastPrune = 0;

  const writeBatch = db.transaction((batch: LedgerEntry[]) => {
    const daily = new Map<string, [string, string, string, string, number, number, number, number, number]>();
    for (const e of batch) {
      insertCall.run(
        Math.round(e.ts),
        e.requestId,
        e.tenant,
        e.provider,
        e.model,
        e.upstreamModel,
        e.promptTokens,
        e.completionTokens,
        e.cachedTokens,
        e.estimated ? 1 : 0,
        e.costUsd,
      );
      const day = utcDay(e.ts);
      const key = `${day}\u0000${e.provider}\u0000${e.model}\u0000${e.tenant}`;
      const row = daily.get(key);
      if (row) {
        row[4] += 1;
        row[5] += e.promptTokens;
        row[6] += e.completionTokens;
        row[7] += e.cachedTokens;
        row[8] += e.costUsd;
      } else {
        daily.set(key, [day, e.provider, e.model, e.tenant, 1, e.promptTokens, e.completionTokens, e.cachedTokens, e.costUsd]);
      }
    }
    for (const row of daily.values()) upsertDaily.run(...row);
  });

  /** Arm the flush timer; an earlier due time replaces a later one. */
  let timerDue = Infinity;
  function schedule(ms: number): void {
    if (closed) return;
    const due = clock.now() + ms;
    if (cancelTimer) {
      if (due >= timerDue) return;
      cancelTimer();
    }
    timerDue = due;
    cancelTimer = clock.setTimeout(() => {
      cancelTimer = undefined;
      timerDue = Infinity;
      ledger.flush();
    }, ms);
  }

  function prune(): number {
    if (retentionDays <= 0) return 0;
    lastPrune = clock.wallNow();
    return deleteOld.run(lastPrune - retentionDays * DAY_MS).changes;
  }

  const ledger: Ledger = {
    path,
    get pending() {
      return queue.length;
    },
    append(e) {
      if (closed) return;
      queue.push(e);
      if (queue.length >= maxBatch) schedule(0);
      else schedule(flushIntervalMs);
    },
    flush() {
      if (cancelTimer) {
        cancelTimer();
        cancelTimer = undefined;
        timerDue = Infinity;
      }
      if (queue.length === 0) return;
      const batch = queue;
      queue = [];
      try {
        writeBatch(batch);
      } catch (err) {
        // Keep the calls for the next try; never let a full disk grow memory without bound.
        queue = batch.concat(queue);
        if (queue.length > MAX_PENDING) queue.splice(0, queue.length - MAX_PENDING);
        onError(err as Error);
        schedule(flushIntervalMs);
        return;
      }
      if (clock.wallNow() - lastPrune > DAY_MS) {
        try {
          prune();
        } catch (err) {
          onError(err as Error);
        }
      }
    },
    totals() {
      const read = (column: "provider" | "model" | "tenant") => {
        const out = new Map<string, Aggregate>();
        const rows = db
          .prepare(
            `SELECT ${column} AS key, SUM(requests) AS requests, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(cost_usd) AS cost
             FROM daily GROUP BY ${column}`,
          )
          .all() as { key: string; requests: number; prompt: number; completion: number; cost: number }[];
        for (const r of rows) out.set(r.key, { requests: r.requests, promptTokens: r.prompt, completionTokens: r.completion, costUsd: r.cost });
        return out;
      };
      return { byProvider: read("provider"), byModel: read("model"), byTenant: read("tenant") };
    },
    spendSince(fromDay) {
      const sum = (column: "tenant" | "provider") =>
        new Map(
          (db.prepare(`SELECT ${column} AS key, SUM(cost_usd) AS cost FROM daily WHERE day >= ? GROUP BY ${column}`).all(fromDay) as { key: string; cost: number }[]).map(
            (r) => [r.key, r.cost],
          ),
        );
      return { tenants: sum("tenant"), providers: sum("provider") };
    },
    recent(limit) {
      const rows = db
        .prepare(
          `SELECT ts_ms, request_id, tenant, provider, model, upstream_model, prompt_tokens, completion_tokens, cached_tokens, estimated, cost_usd
           FROM calls ORDER BY id DESC LIMIT ?`,
        )
        .all(limit) as Record<string, number | string>[];
      return rows.map((r) => ({
        ts: r.ts_ms as number,
        requestId: r.request_id as string,
        tenant: r.tenant as string,
        provider: r.provider as string,
        model: r.model as string,
        upstreamModel: r.upstream_model as string,
        promptTokens: r.prompt_tokens as number,
        completionTokens: r.completion_tokens as number,
        cachedTokens: r.cached_tokens as number,
        estimated: r.estimated === 1,
        costUsd: r.cost_usd as number,
      }));
    },
    prune,
    close() {
      if (closed) return;
      ledger.flush();
      closed = true;
      db.close();
    },
  };
  prune();
  return ledger;
}
