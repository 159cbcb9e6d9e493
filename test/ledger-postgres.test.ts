/**
 * The cost ledger on a real PostgreSQL: three writers sharing one database, restarts, a batch
 * retried after the database went away, and the same rows through the real server across a
 * server restart. Nothing lost, nothing counted twice, no password in any error or log.
 */
import { Writable } from "node:stream";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresLedger, redactUrl } from "../src/cost/ledger-postgres.js";
import type { Ledger, LedgerEntry } from "../src/cost/ledger-types.js";
import { validateConfig } from "../src/config/load.js";
import { systemClock } from "../src/util/clock.js";
import { createLogger } from "../src/util/logger.js";
import { startFakeOpenAI } from "./helpers/fake-openai.js";
import { harness } from "./helpers/harness.js";
import { postgresAvailable, startPostgres, type TestPostgres } from "./helpers/postgres.js";
import { openaiProvider, startServer, user } from "./helpers/server.js";

const { cleanup } = harness();
let db: TestPostgres;
let sql: pg.Pool;

const entry = (requestId: string, o: Partial<LedgerEntry> = {}): LedgerEntry => ({
  ts: Date.now(),
  requestId,
  seq: 0,
  tenant: "acme",
  provider: "p1",
  model: "m",
  upstreamModel: "m-up",
  promptTokens: 10,
  completionTokens: 5,
  cachedTokens: 0,
  estimated: false,
  costUsd: 0.001,
  ...o,
});

async function open(errors: Error[] = [], extra: Partial<Parameters<typeof openPostgresLedger>[0]> = {}): Promise<Ledger> {
  const l = await openPostgresLedger({ url: db.url, clock: systemClock, flushIntervalMs: 20, retryInitialMs: 20, retryMaxMs: 200, onError: (e) => errors.push(e), ...extra });
  cleanup.push(() => l.close());
  return l;
}

const count = async (q: string) => Number((await sql.query(q)).rows[0].n);

describe.skipIf(!postgresAvailable)("cost ledger on PostgreSQL", () => {
  beforeAll(async () => {
    db = await startPostgres();
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    sql.on("error", () => undefined);
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    await db?.destroy();
  });

  it("three writers: every row once, totals exact, across a restart", async () => {
    await sql.query("TRUNCATE llmpool_calls, llmpool_daily").catch(() => undefined);
    const writers = await Promise.all([open(), open(), open()]);
    const N = 400;
    // Interleaved appends, including two priced attempts (seq 0, 1) of one request.
    for (let i = 0; i < N; i++) {
      writers.forEach((w, k) => w.append(entry(`w${k}-r${i}`, { tenant: `t${i % 3}`, provider: `p${k}`, costUsd: 0.001 * (k + 1) })));
    }
    writers[0]!.append(entry("shared", { seq: 0, provider: "p0" }));
    writers[0]!.append(entry("shared", { seq: 1, provider: "p1" }));
    await Promise.all(writers.map((w) => w.drain()));
    expect(await count("SELECT count(*) AS n FROM llmpool_calls")).toBe(3 * N + 2);
    expect(writers.every((w) => w.pending === 0)).toBe(true);

    const t = await writers[1]!.totals();
    expect(t.byProvider.get("p0")).toEqual({ requests: N + 1, promptTokens: 10 * (N + 1), completionTokens: 5 * (N + 1), costUsd: expect.closeTo(0.001 * (N + 1), 9) });
    expect(t.byProvider.get("p1")?.requests).toBe(N + 1);
    expect(t.byProvider.get("p2")?.costUsd).toBeCloseTo(0.003 * N, 9);
    expect([...t.byTenant.values()].reduce((s, a) => s + a.requests, 0)).toBe(3 * N + 2);
    const spend = await writers[2]!.spendSince(new Date().toISOString().slice(0, 10));
    expect(spend.providers.get("p2")).toBeCloseTo(0.003 * N, 9);

    // Restart: close all three, open a fresh one; totals are the same and new rows add on.
    await Promise.all(writers.map((w) => w.close()));
    const again = await open();
    expect((await again.totals()).byProvider).toEqual(t.byProvider);
    again.append(entry("after-restart", { provider: "p2", costUsd: 0.5 }));
    await again.drain();
    expect((await again.totals()).byProvider.get("p2")?.requests).toBe(N + 1);
    expect((await again.recent(1))[0]).toMatchObject({ requestId: "after-restart", provider: "p2", seq: 0, costUsd: 0.5, estimated: false });
  });

  it("a batch written twice (a retry after a lost acknowledgement) counts once", async () => {
    const l = await open();
    const ts = Date.now();
    const batch = [entry("dup-1", { ts, provider: "dup" }), entry("dup-2", { ts, provider: "dup" })];
    for (const e of batch) l.append(e);
    await l.drain();
    // A second replica (or this one after a timeout) sends the very same rows again.
    const other = await open();
    for (const e of batch) other.append({ ...e });
    for (const e of batch) other.append({ ...e }); // and twice in one statement
    await other.drain();
    expect(await count("SELECT count(*) AS n FROM llmpool_calls WHERE provider = 'dup'")).toBe(2);
    expect((await l.totals()).byProvider.get("dup")).toEqual({ requests: 2, promptTokens: 20, completionTokens: 10, costUsd: expect.closeTo(0.002, 12) });
    // The same request id at another time is another call (a client reusing x-request-id).
    other.append(entry("dup-1", { ts: ts + 1, provider: "dup" }));
    await other.drain();
    expect((await l.totals()).byProvider.get("dup")?.requests).toBe(3);
  });

  it("race counts: replicas add to the same rows, and a new ledger reads the sums", async () => {
    const [a, b] = await Promise.all([open(), open()]);
    await a.addRaceCounts(new Map([["pg-fast", { entries: 3, wins: 2 }], ["pg-slow", { entries: 3, wins: 1 }]]));
    await b.addRaceCounts(new Map([["pg-fast", { entries: 2, wins: 2 }]]));
    const again = await open();
    const counts = await again.raceCounts();
    expect(counts.get("pg-fast")).toEqual({ entries: 5, wins: 4 });
    expect(counts.get("pg-slow")).toEqual({ entries: 3, wins: 1 });
  });

  it("keeps calls while PostgreSQL is down and writes them once when it returns", async () => {
    const errors: Error[] = [];
    const l = await open(errors);
    l.append(entry("before-outage", { provider: "outage" }));
    await l.drain();
    await db.stop();
    for (let i = 0; i < 50; i++) l.append(entry(`during-${i}`, { provider: "outage" }));
    l.flush();
    await expect.poll(() => errors.length, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
    expect(l.pending).toBe(50);
    await db.start();
    await l.drain();
    expect(l.pending).toBe(0);
    expect((await l.totals()).byProvider.get("outage")?.requests).toBe(51);
    expect(await count("SELECT count(*) AS n FROM llmpool_calls WHERE provider = 'outage'")).toBe(51);
    for (const e of errors) expect(e.message).not.toContain(db.password);
  }, 30_000);

  it("drops the oldest calls past max_pending, and says so", async () => {
    const errors: Error[] = [];
    const l = await open(errors, { maxPending: 5, flushIntervalMs: 60_000 });
    for (let i = 0; i < 8; i++) l.append(entry(`cap-${i}`, { provider: "cap" }));
    expect(l.pending).toBe(5);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/over 5 calls/)]); // once, not per call
    await l.drain();
    expect((await l.recent(5)).map((e) => e.requestId).sort()).toEqual(["cap-3", "cap-4", "cap-5", "cap-6", "cap-7"]);
    expect(errors[1]?.message).toMatch(/dropped 3 call\(s\)/);
  });

  it("names the key and hides the password when it cannot connect", async () => {
    const bad = db.url.replace(/:(\d+)\//, ":1/");
    await expect(openPostgresLedger({ url: bad, clock: systemClock })).rejects.toThrow(/ledger postgres:\/\/llmpool:\*\*\*@127\.0\.0\.1:1\/llmpool/);
    expect(redactUrl(db.url)).not.toContain(db.password);
    const lines: string[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
    const raw = { log: { level: "info" }, cost: { ledger: { backend: "postgres", url: "${DATABASE_URL}" } }, providers: [{ name: "m", type: "mock", models: ["m"] }] };
    const err = await startServer(raw, { env: { DATABASE_URL: bad }, logger: createLogger("info", sink) }).catch((e: Error) => e);
    expect(String(err)).toMatch(/^Error: cost\.ledger\.url: cannot open ledger/);
    expect(String(err)).not.toContain(db.password);
    expect(lines.join("")).not.toContain(db.password);
  });

  it("config: backend postgres needs a url, and the url must be postgres://", () => {
    const base = { providers: [{ name: "m", type: "mock", models: ["m"] }] };
    expect(() => validateConfig({ ...base, cost: { ledger: { backend: "postgres" } } }, "t", {})).toThrow(/cost\.ledger\.url.*required when backend is postgres/s);
    expect(() => validateConfig({ ...base, cost: { ledger: { backend: "postgres", url: "mysql://x/y" } } }, "t", {})).toThrow(/cost\.ledger\.url.*postgres:\/\//s);
    expect(() => validateConfig({ ...base, cost: { ledger: { backend: "pg" } } }, "t", {})).toThrow(/cost\.ledger\.backend/);
    expect(validateConfig(base, "t", {}).config.cost.ledger.backend).toBe("sqlite");
  });

  it("through the real server: three replicas write one ledger; a restarted one starts from its totals", async () => {
    await sql.query("TRUNCATE llmpool_calls, llmpool_daily");
    const up = await startFakeOpenAI("up");
    cleanup.push(() => up.close());
    up.behave({ usage: { prompt_tokens: 1000, completion_tokens: 100 } });
    // $1 / 1M in, $10 / 1M out: $0.002 per call.
    const raw = {
      cost: { ledger: { backend: "postgres", url: "${DATABASE_URL}", flush_interval_ms: 20 } },
      providers: [openaiProvider("up", up.url, { pricing: { input_per_1m: 1, output_per_1m: 10 } })],
    };
    const env = { ...process.env, DATABASE_URL: db.url };
    const replicas = await Promise.all([0, 1, 2].map(() => startServer(raw, { env })));
    await Promise.all(replicas.map((s, k) => Promise.all(Array.from({ length: 5 }, () => s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")], metadata: { tenant: `t${k}` } })))));
    await Promise.all(replicas.map((s) => s.close()));
    expect(await count("SELECT count(*) AS n FROM llmpool_calls")).toBe(15);
    expect(await count("SELECT count(DISTINCT request_id) AS n FROM llmpool_calls")).toBe(15);

    const s = await startServer(raw, { env });
    cleanup.push(() => s.close());
    const stats = await s.grpc.getPoolStats({});
    expect(stats.costByTenant.map((c) => [c.key, Number(c.requests)]).sort()).toEqual([
      ["t0", 5],
      ["t1", 5],
      ["t2", 5],
    ]);
    expect(stats.totals?.costUsd).toBeCloseTo(0.03, 9);
    expect(s.server.cost.ledger.path).not.toContain(db.password);
  });
});
