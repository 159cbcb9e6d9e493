/**
 * The cost ledger on PostgreSQL (`cost.ledger.backend: postgres`), for several replicas that
 * share one ledger. Same rows as the SQLite ledger (ledger-writer.ts): `llmpool_calls` per call,
 * `llmpool_daily` running totals per UTC day, provider, model and tenant.
 *
 * Writes never happen on the request path: append() pushes onto a bounded in-memory queue; a
 * single writer sends up to `maxBatch` calls per statement, at most `flushIntervalMs` after the
 * first was queued. One statement inserts the calls and adds only the rows it really inserted to
 * the daily totals, so it is atomic by itself. Each call row has a unique key (request id,
 * attempt seq, ts): a batch retried after a lost acknowledgement, or written by two replicas,
 * is inserted once (ON CONFLICT DO NOTHING) and counted once. A failed write keeps its calls
 * and retries them with exponential backoff; past `maxPending` queued calls the oldest go.
 */
import type { Clock } from "../util/clock.js";
import { createFlushTimer } from "./flush-timer.js";
import type { Aggregate, Ledger, LedgerEntry, LedgerTotals, SpendByScope } from "./ledger-types.js";

export interface PostgresLedgerOptions {
  /** postgres:// URL (user, password, host, port, database, ?sslmode=). */
  url: string;
  clock: Clock;
  /** Longest time a call waits in memory before it is written. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Calls per INSERT statement; a full batch is written at once. Default 1000. */
  maxBatch?: number;
  /** Queued calls kept while PostgreSQL is unreachable; past it the oldest are dropped. Default 200000. */
  maxPending?: number;
  /** Per-call rows older than this many days are deleted at open and daily (0 = never). Default 90. */
  retentionDays?: number;
  /** First and longest wait before a failed batch is retried. Defaults 500 ms and 30000 ms. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** How long close() waits for the last writes. Default 10000 ms. */
  closeWaitMs?: number;
  /** Connections opened. Default 2 (one writes, one answers reads). */
  poolSize?: number;
  /** Told about write failures (messages carry no password). */
  onError?: (err: Error) => void;
}

const SCHEMA_VERSION = "1";
const DAY_MS = 86_400_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS llmpool_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS llmpool_calls (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ts_ms BIGINT NOT NULL,
  request_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  upstream_model TEXT NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL,
  estimated BOOLEAN NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  UNIQUE (request_id, seq, ts_ms)
);
CREATE INDEX IF NOT EXISTS llmpool_calls_ts ON llmpool_calls (ts_ms);
CREATE TABLE IF NOT EXISTS llmpool_daily (
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  tenant TEXT NOT NULL,
  requests BIGINT NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (day, provider, model, tenant)
);
CREATE TABLE IF NOT EXISTS llmpool_race_counts (
  provider TEXT PRIMARY KEY,
  entries BIGINT NOT NULL,
  wins BIGINT NOT NULL
);
`;

// One statement: insert the calls, then add to the daily totals only what was inserted. The
// ORDER BY makes concurrent writers lock daily rows in the same order (no deadlocks).
const WRITE_SQL = `
WITH ins AS (
  INSERT INTO llmpool_calls (ts_ms, request_id, seq, tenant, provider, model, upstream_model, prompt_tokens, completion_tokens, cached_tokens, estimated, cost_usd)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::boolean[], $12::float8[])
  ON CONFLICT (request_id, seq, ts_ms) DO NOTHING
  RETURNING ts_ms, tenant, provider, model, prompt_tokens, completion_tokens, cached_tokens, cost_usd
)
INSERT INTO llmpool_daily (day, provider, model, tenant, requests, prompt_tokens, completion_tokens, cached_tokens, cost_usd)
SELECT to_char(to_timestamp(ts_ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), provider, model, tenant,
       count(*), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cost_usd)
FROM ins GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
ON CONFLICT (day, provider, model, tenant) DO UPDATE SET
  requests = llmpool_daily.requests + excluded.requests,
  prompt_tokens = llmpool_daily.prompt_tokens + excluded.prompt_tokens,
  completion_tokens = llmpool_daily.completion_tokens + excluded.completion_tokens,
  cached_tokens = llmpool_daily.cached_tokens + excluded.cached_tokens,
  cost_usd = llmpool_daily.cost_usd + excluded.cost_usd`;

/** The URL with its password replaced by "***", for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return "";
  }
}

export async function openPostgresLedger(opts: PostgresLedgerOptions): Promise<Ledger> {
  const clock = opts.clock;
  const flushIntervalMs = opts.flushIntervalMs ?? 1000;
  const maxBatch = opts.maxBatch ?? 1000;
  const maxPending = opts.maxPending ?? 200_000;
  const retentionDays = opts.retentionDays ?? 90;
  const retryInitialMs = opts.retryInitialMs ?? 500;
  const retryMaxMs = opts.retryMaxMs ?? 30_000;
  const closeWaitMs = opts.closeWaitMs ?? 10_000;
  const onError = opts.onError ?? (() => undefined);
  const shown = redactUrl(opts.url);
  const secret = passwordOf(opts.url);
  /** Errors as they may be logged: never the password. */
  const clean = (err: unknown): Error => {
    let msg = err instanceof Error ? err.message : String(err);
    if (secret) msg = msg.split(secret).join("***");
    return new Error(msg);
  };

  // Loaded here, not at the top: pg holds ~4 MB of heap that a SQLite-ledger process never needs.
  const { default: pg } = await import("pg");
  const db = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 2, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  db.on("error", (err) => onError(clean(err)));

  try {
    const c = await db.connect();
    try {
      await c.query("BEGIN");
      // Replicas starting together must not race on CREATE TABLE IF NOT EXISTS.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('llmpool_ledger_schema'))");
      await c.query(SCHEMA);
      await c.query("INSERT INTO llmpool_meta (key, value) VALUES ('schema_version', $1), ('created_at', $2) ON CONFLICT (key) DO NOTHING", [
        SCHEMA_VERSION,
        new Date(clock.wallNow()).toISOString(),
      ]);
      await c.query("COMMIT");
      const v = (await c.query("SELECT value FROM llmpool_meta WHERE key = 'schema_version'")).rows[0]?.value as string | undefined;
      if (v !== SCHEMA_VERSION) throw new Error(`schema version ${v}; this llmpool reads version ${SCHEMA_VERSION}`);
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  } catch (err) {
    await db.end().catch(() => undefined);
    throw new Error(`ledger ${shown}: ${clean(err).message}`);
  }

  let queue: LedgerEntry[] = [];
  let writing = false;
  let closed = false;
  let failures = 0;
  const timer = createFlushTimer(clock, () => void writeNext());
  let lastPrune = 0;
  let waiters: (() => void)[] = [];
  let inflight = 0;

  /** Calls dropped since the last successful write (reported once per outage, not per call). */
  let dropped = 0;
  const drop = () => {
    const n = queue.length - maxPending;
    queue.splice(0, n);
    if (dropped === 0) onError(new Error(`ledger queue over ${maxPending} calls: oldest dropped until PostgreSQL accepts writes again`));
    dropped += n;
  };

  const settle = () => {
    if (!writing && queue.length === 0) for (const w of waiters.splice(0)) w();
  };

  const schedule = (ms: number) => timer.schedule(ms);

  async function writeBatch(entries: LedgerEntry[]): Promise<void> {
    const n = entries.length;
    const cols: unknown[][] = Array.from({ length: 12 }, () => new Array(n));
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      cols[0]![i] = Math.round(e.ts);
      cols[1]![i] = e.requestId;
      cols[2]![i] = e.seq ?? 0;
      cols[3]![i] = e.tenant;
      cols[4]![i] = e.provider;
      cols[5]![i] = e.model;
      cols[6]![i] = e.upstreamModel;
      cols[7]![i] = e.promptTokens;
      cols[8]![i] = e.completionTokens;
      cols[9]![i] = e.cachedTokens;
      cols[10]![i] = e.estimated;
      cols[11]![i] = e.costUsd;
    }
    await db.query(WRITE_SQL, cols);
  }

  async function pruneNow(): Promise<number> {
    if (retentionDays <= 0) return 0;
    lastPrune = clock.wallNow();
    const r = await db.query("DELETE FROM llmpool_calls WHERE ts_ms < $1", [lastPrune - retentionDays * DAY_MS]);
    return r.rowCount ?? 0;
  }

  /** The single writer: one batch at a time, the rest waits in the queue. */
  async function writeNext(): Promise<void> {
    if (writing || queue.length === 0) return settle();
    timer.cancel();
    writing = true;
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
    inflight = batch.length;
    try {
      await writeBatch(batch);
      failures = 0;
      if (dropped > 0) onError(new Error(`ledger dropped ${dropped} call(s) while PostgreSQL was unreachable`));
      dropped = 0;
    } catch (err) {
      // Keep the calls and retry later: the unique key makes a retry of a batch that did
      // commit (its acknowledgement lost) a no-op.
      queue = batch.concat(queue);
      if (queue.length > maxPending) drop();
      failures++;
      onError(clean(err));
    } finally {
      writing = false;
      inflight = 0;
    }
    if (failures > 0) {
      if (!closed || waiters.length > 0) schedule(Math.min(retryMaxMs, retryInitialMs * 2 ** (failures - 1)));
      return;
    }
    if (clock.wallNow() - lastPrune > DAY_MS) await pruneNow().catch((err) => onError(clean(err)));
    if (queue.length >= maxBatch || (queue.length > 0 && waiters.length > 0)) return writeNext();
    if (queue.length > 0) schedule(flushIntervalMs);
    settle();
  }

  const sumBy = async (column: "provider" | "model" | "tenant"): Promise<Map<string, Aggregate>> => {
    const rows = (
      await db.query(
        `SELECT ${column} AS key, SUM(requests)::float8 AS requests, SUM(prompt_tokens)::float8 AS prompt, SUM(completion_tokens)::float8 AS completion, SUM(cost_usd) AS cost
         FROM llmpool_daily GROUP BY ${column}`,
      )
    ).rows as { key: string; requests: number; prompt: number; completion: number; cost: number }[];
    return new Map(rows.map((r) => [r.key, { requests: r.requests, promptTokens: r.prompt, completionTokens: r.completion, costUsd: r.cost }]));
  };

  const ledger: Ledger = {
    path: shown,
    get pending() {
      return queue.length + inflight;
    },
    append(e) {
      if (closed) return;
      queue.push(e);
      if (queue.length > maxPending) drop();
      if (writing || failures > 0) return; // the writer or its retry timer picks it up
      schedule(queue.length >= maxBatch ? 0 : flushIntervalMs);
    },
    flush() {
      if (failures === 0) void writeNext();
    },
    drain() {
      if (!writing && queue.length === 0) return Promise.resolve();
      const p = new Promise<void>((r) => waiters.push(r));
      if (failures === 0) void writeNext();
      return p;
    },
    async raceCounts() {
      const rows = (await db.query("SELECT provider, entries::float8 AS e, wins::float8 AS w FROM llmpool_race_counts")).rows as { provider: string; e: number; w: number }[];
      return new Map(rows.map((r) => [r.provider, { entries: r.e, wins: r.w }]));
    },
    async addRaceCounts(deltas) {
      if (deltas.size === 0) return;
      const names: string[] = [];
      const entries: number[] = [];
      const wins: number[] = [];
      for (const [name, d] of deltas) {
        names.push(name);
        entries.push(d.entries);
        wins.push(d.wins);
      }
      // Several replicas add to the same rows: increments, never overwrites.
      await db.query(
        `INSERT INTO llmpool_race_counts (provider, entries, wins)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
         ON CONFLICT (provider) DO UPDATE SET entries = llmpool_race_counts.entries + excluded.entries, wins = llmpool_race_counts.wins + excluded.wins`,
        [names, entries, wins],
      );
    },
    async totals(): Promise<LedgerTotals> {
      const [byProvider, byModel, byTenant] = await Promise.all([sumBy("provider"), sumBy("model"), sumBy("tenant")]);
      return { byProvider, byModel, byTenant };
    },
    async spendSince(fromDay): Promise<SpendByScope> {
      const sum = async (column: "tenant" | "provider") =>
        new Map(
          ((await db.query(`SELECT ${column} AS key, SUM(cost_usd) AS cost FROM llmpool_daily WHERE day >= $1 GROUP BY ${column}`, [fromDay])).rows as { key: string; cost: number }[]).map(
            (r) => [r.key, r.cost],
          ),
        );
      const [tenants, providers] = await Promise.all([sum("tenant"), sum("provider")]);
      return { tenants, providers };
    },
    async recent(limit) {
      const rows = (
        await db.query(
          `SELECT ts_ms::float8 AS ts, request_id, seq, tenant, provider, model, upstream_model, prompt_tokens::float8 AS p, completion_tokens::float8 AS c,
                  cached_tokens::float8 AS k, estimated, cost_usd
           FROM llmpool_calls ORDER BY ts_ms DESC, id DESC LIMIT $1`,
          [limit],
        )
      ).rows as Record<string, number | string | boolean>[];
      return rows.map((r) => ({
        ts: r.ts as number,
        requestId: r.request_id as string,
        seq: r.seq as number,
        tenant: r.tenant as string,
        provider: r.provider as string,
        model: r.model as string,
        upstreamModel: r.upstream_model as string,
        promptTokens: r.p as number,
        completionTokens: r.c as number,
        cachedTokens: r.k as number,
        estimated: r.estimated === true,
        costUsd: r.cost_usd as number,
      }));
    },
    prune: pruneNow,
    async close() {
      if (closed) return;
      closed = true;
      let wait: NodeJS.Timeout | undefined;
      // A database that stays down must not hold shutdown forever.
      await Promise.race([ledger.drain(), new Promise<void>((r) => (wait = setTimeout(r, closeWaitMs)))]);
      clearTimeout(wait);
      timer.cancel();
      if (ledger.pending > 0) onError(new Error(`ledger closed with ${ledger.pending} call(s) unwritten`));
      await db.end().catch(() => undefined);
    },
  };
  await pruneNow().catch((err) => onError(clean(err)));
  return ledger;
}
