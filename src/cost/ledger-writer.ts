/**
 * The ledger's writer: schema, the batch format, and the code that writes a batch in one
 * transaction. The writer is plain JavaScript source so the very same code runs in the writer
 * thread (an `eval` worker) and, for ":memory:" ledgers, in-process.
 */
import type Database from "better-sqlite3";
import type { LedgerEntry } from "./ledger-types.js";

export const SCHEMA = `
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

/** Numbers per call in a packed batch: ts, prompt, completion, cached, estimated, cost. */
const NUMS = 6;
/** Strings per call in a packed batch: request id, tenant, provider, model, upstream model. */
const STRS = 5;

/** Calls packed for the writer: numbers in one transferable array, strings in one list. */
export interface Batch {
  n: number;
  nums: Float64Array;
  strs: string[];
}

/**
 * The writer, as plain JavaScript: the same source runs in the writer thread and, for
 * ":memory:" ledgers, in-process (new Function), so there is one implementation.
 */
export const WRITER_JS = String.raw`
function createWriter(db) {
  const insertCall = db.prepare(
    "INSERT INTO calls (ts_ms, request_id, tenant, provider, model, upstream_model, prompt_tokens, completion_tokens, cached_tokens, estimated, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
  );
  const upsertDaily = db.prepare(
    "INSERT INTO daily (day, provider, model, tenant, requests, prompt_tokens, completion_tokens, cached_tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " +
    "ON CONFLICT (day, provider, model, tenant) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, " +
    "completion_tokens = completion_tokens + excluded.completion_tokens, cached_tokens = cached_tokens + excluded.cached_tokens, cost_usd = cost_usd + excluded.cost_usd"
  );
  return db.transaction(function (b) {
    const daily = new Map();
    let dayStart = 1, dayEnd = 0, day = "";
    for (let i = 0; i < b.n; i++) {
      const o = i * 6, s = i * 5;
      const ts = b.nums[o];
      if (ts < dayStart || ts >= dayEnd) {
        day = new Date(ts).toISOString().slice(0, 10);
        dayStart = Date.parse(day);
        dayEnd = dayStart + 86400000;
      }
      const tenant = b.strs[s + 1], provider = b.strs[s + 2], model = b.strs[s + 3];
      insertCall.run(Math.round(ts), b.strs[s], tenant, provider, model, b.strs[s + 4], b.nums[o + 1], b.nums[o + 2], b.nums[o + 3], b.nums[o + 4], b.nums[o + 5]);
      const key = day + "\u0000" + provider + "\u0000" + model + "\u0000" + tenant;
      const row = daily.get(key);
      if (row) {
        row[4] += 1; row[5] += b.nums[o + 1]; row[6] += b.nums[o + 2]; row[7] += b.nums[o + 3]; row[8] += b.nums[o + 5];
      } else {
        daily.set(key, [day, provider, model, tenant, 1, b.nums[o + 1], b.nums[o + 2], b.nums[o + 3], b.nums[o + 5]]);
      }
    }
    for (const row of daily.values()) upsertDaily.run(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8]);
  });
}
`;

export const THREAD_JS = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.sqlite);
const db = new Database(workerData.path);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
${WRITER_JS}
const write = createWriter(db);
parentPort.on("message", function (m) {
  if (m.type === "batch") {
    try {
      write(m.batch);
      parentPort.postMessage({ type: "written", id: m.id });
    } catch (err) {
      parentPort.postMessage({ type: "failed", id: m.id, message: String((err && err.message) || err) });
    }
  } else if (m.type === "close") {
    db.close();
    parentPort.postMessage({ type: "closed" });
  }
});
`;

export type WriteFn = (b: Batch) => void;

export function inProcessWriter(db: Database.Database): WriteFn {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function("db", `${WRITER_JS}\nreturn createWriter(db);`)(db) as WriteFn;
}

export function pack(entries: LedgerEntry[]): Batch {
  const n = entries.length;
  const nums = new Float64Array(n * NUMS);
  const strs = new Array<string>(n * STRS);
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    const o = i * NUMS;
    const s = i * STRS;
    nums[o] = e.ts;
    nums[o + 1] = e.promptTokens;
    nums[o + 2] = e.completionTokens;
    nums[o + 3] = e.cachedTokens;
    nums[o + 4] = e.estimated ? 1 : 0;
    nums[o + 5] = e.costUsd;
    strs[s] = e.requestId;
    strs[s + 1] = e.tenant;
    strs[s + 2] = e.provider;
    strs[s + 3] = e.model;
    strs[s + 4] = e.upstreamModel;
  }
  return { n, nums, strs };
}

