/**
 * The cost ledger: every priced upstream call in an embedded SQLite file (better-sqlite3), so
 * totals and budgets survive restarts.
 *
 * Two tables: `calls` holds one row per call (for audits and exports; pruned after
 * `retention_days`), `daily` holds running totals per UTC day, provider, model and tenant
 * (kept forever; what totals and budgets are read from at start-up).
 *
 * Writes never happen on the request path: append() pushes onto an in-memory batch; at most
 * `flushIntervalMs` later (or at once when it reaches `maxBatch`) the batch goes, packed into
 * a typed array and a string list, to a writer thread that owns its own connection and writes
 * it in one transaction with prepared statements (src/cost/writer-thread.ts: the thread runs
 * only while there are writes). The event loop never waits for SQLite
 * (bench/RESULTS.md has the figures). A crash loses at most one interval of calls; close()
 * writes everything first. ":memory:" ledgers (tests) write in-process, since an in-memory
 * database cannot be shared with a thread.
 */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import type { Clock } from "../util/clock.js";
import { createFlushTimer } from "./flush-timer.js";
import { inProcessWriter, pack, SCHEMA, type Batch, type WriteFn } from "./ledger-writer.js";
import { WriterThread } from "./writer-thread.js";
import type { Aggregate, Ledger, LedgerEntry, RaceCount } from "./ledger-types.js";

export { utcDay, type Aggregate, type Ledger, type LedgerEntry, type LedgerTotals, type RaceCount, type SpendByScope } from "./ledger-types.js";

/** Added beside the version-1 tables: an older ledger file gains it on open. */
const RACE_SCHEMA = "CREATE TABLE IF NOT EXISTS race_counts (provider TEXT PRIMARY KEY, entries INTEGER NOT NULL, wins INTEGER NOT NULL);";

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
  /** Unwritten calls kept while writes fail; past it the oldest are dropped and reported. Default 200000. */
  maxPending?: number;
  /** Write on a worker thread. Default true for files (":memory:" always writes in-process). */
  writerThread?: boolean;
  /** The writer thread stops after this long without a batch; the next one starts it again. Default 30000 ms. */
  threadIdleMs?: number;
}

const SCHEMA_VERSION = "1";
const DAY_MS = 86_400_000;
/** How long close() waits for the last writes. */
const CLOSE_WAIT_MS = 10_000;
export function openLedger(opts: LedgerOptions): Ledger {
  const memory = opts.path === ":memory:";
  const path = memory ? opts.path : resolve(opts.path);
  const flushIntervalMs = opts.flushIntervalMs ?? 1000;
  const maxBatch = opts.maxBatch ?? 1024;
  const retentionDays = opts.retentionDays ?? 90;
  const clock = opts.clock;
  const onError = opts.onError ?? (() => undefined);
  const maxPending = opts.maxPending ?? 200_000;

  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  if (!memory) {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
  }
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);
  db.exec(RACE_SCHEMA);
  const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
  if (version === undefined) {
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('created_at', ?)").run(SCHEMA_VERSION, new Date(clock.wallNow()).toISOString());
  } else if (version !== SCHEMA_VERSION) {
    db.close();
    throw new Error(`ledger ${path} has schema version ${version}; this llmpool reads version ${SCHEMA_VERSION}`);
  }
  const deleteOld = db.prepare("DELETE FROM calls WHERE ts_ms < ?");
  const addRace = db.prepare(
    "INSERT INTO race_counts (provider, entries, wins) VALUES (?, ?, ?) ON CONFLICT(provider) DO UPDATE SET entries = entries + excluded.entries, wins = wins + excluded.wins",
  );
  // One small transaction on this thread: the race tally batches counts about once a second,
  // so the per-call path never touches SQLite.
  const addRaces = db.transaction((deltas: ReadonlyMap<string, RaceCount>) => {
    for (const [provider, d] of deltas) addRace.run(provider, d.entries, d.wins);
  });

  let queue: LedgerEntry[] = [];
  const timer = createFlushTimer(clock, () => ledger.flush());
  let closed = false;
  let lastPrune = 0;

  // The writer: a thread for files, in-process for ":memory:" (or when the thread failed).
  let write: WriteFn | undefined = memory || opts.writerThread === false ? inProcessWriter(db) : undefined;
  let nextId = 0;
  /** Batches handed to the thread and not yet acknowledged, with their calls for a retry. */
  const inflight = new Map<number, { batch: Batch; entries: LedgerEntry[] }>();
  let inflightCalls = 0;
  let waiters: (() => void)[] = [];

  const settle = () => {
    if (inflight.size === 0 && queue.length === 0) for (const w of waiters.splice(0)) w();
  };
  const requeue = (entries: LedgerEntry[], err: Error) => {
    queue = entries.concat(queue);
    if (queue.length > maxPending) queue.splice(0, queue.length - maxPending);
    onError(err);
    if (!closed) schedule(flushIntervalMs);
  };
  const acknowledged = (id: number, failure?: string) => {
    const done = inflight.get(id);
    if (!done) return;
    inflight.delete(id);
    inflightCalls -= done.batch.n;
    if (failure !== undefined) requeue(done.entries, new Error(failure));
    if (inflight.size === 0) thread?.idle();
    settle();
  };
  const thread = write
    ? undefined
    : new WriterThread(path, createRequire(import.meta.url).resolve("better-sqlite3"), clock, opts.threadIdleMs ?? 30_000, {
        written: (id) => acknowledged(id),
        failed: (id, message) => acknowledged(id, message),
        died(err) {
          // The thread died: write in-process from now on, and retry what it had not written.
          onError(err);
          write = inProcessWriter(db);
          const lost = [...inflight.values()].flatMap((b) => b.entries);
          inflight.clear();
          inflightCalls = 0;
          queue = lost.concat(queue);
          ledger.flush();
          settle();
        },
      });

  const schedule = (ms: number) => {
    if (!closed) timer.schedule(ms);
  };

  function pruneNow(): number {
    if (retentionDays <= 0) return 0;
    lastPrune = clock.wallNow();
    return deleteOld.run(lastPrune - retentionDays * DAY_MS).changes;
  }

  const ledger: Ledger = {
    path,
    get pending() {
      return queue.length + inflightCalls;
    },
    append(e) {
      if (closed) return;
      queue.push(e);
      if (queue.length >= maxBatch) schedule(0);
      else schedule(flushIntervalMs);
    },
    flush() {
      timer.cancel();
      if (queue.length === 0) return;
      const entries = queue;
      queue = [];
      const batch = pack(entries);
      if (!write) {
        const id = ++nextId;
        inflight.set(id, { batch, entries });
        inflightCalls += batch.n;
        thread!.post(id, batch);
      } else {
        try {
          write!(batch);
        } catch (err) {
          requeue(entries, err as Error);
          return;
        }
        settle();
      }
      if (clock.wallNow() - lastPrune > DAY_MS) {
        try {
          pruneNow();
        } catch (err) {
          onError(err as Error);
        }
      }
    },
    drain() {
      ledger.flush();
      if (inflight.size === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((r) => waiters.push(r));
    },
    async raceCounts() {
      const rows = db.prepare("SELECT provider, entries, wins FROM race_counts").all() as { provider: string; entries: number; wins: number }[];
      return new Map(rows.map((r) => [r.provider, { entries: r.entries, wins: r.wins }]));
    },
    async addRaceCounts(deltas) {
      if (!closed && deltas.size > 0) addRaces(deltas);
    },
    async totals() {
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
    async spendSince(fromDay) {
      const sum = (column: "tenant" | "provider") =>
        new Map(
          (db.prepare(`SELECT ${column} AS key, SUM(cost_usd) AS cost FROM daily WHERE day >= ? GROUP BY ${column}`).all(fromDay) as { key: string; cost: number }[]).map(
            (r) => [r.key, r.cost],
          ),
        );
      return { tenants: sum("tenant"), providers: sum("provider") };
    },
    async recent(limit) {
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
    prune: async () => pruneNow(),
    async close() {
      if (closed) return;
      thread?.hold();
      // A disk that keeps failing must not hold shutdown forever.
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([ledger.drain(), new Promise<void>((r) => (wait = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(wait);
      if (ledger.pending > 0) onError(new Error(`ledger closed with ${ledger.pending} call(s) unwritten`));
      closed = true;
      await thread?.close();
      db.close();
    },
  };
  pruneNow();
  return ledger;
}
