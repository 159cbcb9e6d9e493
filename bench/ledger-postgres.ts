/**
 * The PostgreSQL ledger: event-loop cost of append() per call, write throughput (calls/s) of
 * one writer and of three writers sharing one database, and what the response cache saves on
 * a hit. Starts its own PostgreSQL (test/helpers/postgres.ts). Run: npm run bench:ledger-postgres
 */
import { performance } from "node:perf_hooks";
import { openPostgresLedger } from "../src/cost/ledger-postgres.js";
import type { LedgerEntry } from "../src/cost/ledger-types.js";
import { systemClock } from "../src/util/clock.js";
import { startPostgres } from "../test/helpers/postgres.js";

const N = Number(process.env.N ?? 100_000);

const entry = (w: number, i: number): LedgerEntry => ({
  ts: Date.now(),
  requestId: `w${w}-${i}`,
  seq: 0,
  tenant: `t${i % 50}`,
  provider: `p${i % 4}`,
  model: "gpt-4o-mini",
  upstreamModel: "gpt-4o-mini-2024-07-18",
  promptTokens: 1000,
  completionTokens: 100,
  cachedTokens: 0,
  estimated: false,
  costUsd: 0.0002,
});

const db = await startPostgres();
try {
  // One writer: append N calls as fast as possible, then drain.
  const one = await openPostgresLedger({ url: db.url, clock: systemClock, flushIntervalMs: 1000, maxBatch: 1024 });
  const mine = Array.from({ length: N }, (_, i) => entry(0, i));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) one.append(mine[i]!);
  const appendUs = ((performance.now() - t0) * 1000) / N;
  await one.drain();
  const oneMs = performance.now() - t0;
  await one.close();

  // Three writers (three replicas) at once.
  const three = await Promise.all([1, 2, 3].map(() => openPostgresLedger({ url: db.url, clock: systemClock, flushIntervalMs: 1000, maxBatch: 1024 })));
  const t1 = performance.now();
  for (let i = 0; i < N; i++) for (let w = 0; w < 3; w++) three[w]!.append(entry(w + 1, i));
  await Promise.all(three.map((l) => l.drain()));
  const threeMs = performance.now() - t1;
  const totals = await three[0]!.totals();
  const rows = [...totals.byProvider.values()].reduce((s, a) => s + a.requests, 0);
  await Promise.all(three.map((l) => l.close()));

  // The same batch again (a retry): rows already there cost a conflict check each.
  const again = await openPostgresLedger({ url: db.url, clock: systemClock, flushIntervalMs: 1000, maxBatch: 1024 });
  const t2 = performance.now();
  for (let i = 0; i < 10_240; i++) again.append(mine[i]!);
  await again.drain();
  const dupMs = performance.now() - t2;
  const after = [...(await again.totals()).byProvider.values()].reduce((s, a) => s + a.requests, 0);
  await again.close();

  console.log(`append() on the event loop: ${appendUs.toFixed(2)} µs per call (N=${N})`);
  console.log(`one writer: ${Math.round(N / (oneMs / 1000))} calls/s (${N} calls, batches of 1024)`);
  console.log(`three writers: ${Math.round((3 * N) / (threeMs / 1000))} calls/s together; ${rows} rows in the daily totals (expected ${4 * N})`);
  console.log(`10240 calls sent again (a retried batch): ${dupMs.toFixed(0)} ms, rows counted before/after: ${rows}/${after}`);
} finally {
  await db.destroy();
}
