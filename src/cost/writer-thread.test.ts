import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { createFakeClock } from "../util/clock.js";
import { pack, SCHEMA } from "./ledger-writer.js";
import type { LedgerEntry } from "./ledger-types.js";
import { WriterThread } from "./writer-thread.js";

function entry(requestId: string): LedgerEntry {
  return {
    ts: Date.UTC(2026, 11, 3, 12),
    requestId,
    tenant: "acme",
    provider: "a",
    model: "m",
    upstreamModel: "m",
    promptTokens: 10,
    completionTokens: 2,
    cachedTokens: 0,
    estimated: false,
    costUsd: 0.001,
  };
}

describe("ledger writer thread", () => {
  it("starts with the first batch, stops after idleMs without one, and starts again for the next", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "llmpool-writer-")), "ledger.db");
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.exec(SCHEMA);
    const clock = createFakeClock();
    const acked: number[] = [];
    let wake: () => void = () => undefined;
    const thread = new WriterThread(path, createRequire(import.meta.url).resolve("better-sqlite3"), clock, 30_000, {
      written: (id) => {
        acked.push(id);
        wake();
      },
      failed: (id, message) => expect.fail(`batch ${id}: ${message}`),
      died: (err) => expect.fail(err.message),
    });
    const written = (n: number) => new Promise<void>((r) => (wake = () => acked.length >= n && r()));

    expect(thread.running).toBe(false); // nothing to write: no thread
    let done = written(1);
    thread.post(1, pack([entry("r1")]));
    expect(thread.running).toBe(true);
    await done;
    thread.idle();
    clock.advance(29_999);
    expect(thread.running).toBe(true);
    clock.advance(1);
    expect(thread.running).toBe(false);

    done = written(2);
    thread.post(2, pack([entry("r2")]));
    await done;
    expect(thread.starts).toBe(2);
    thread.idle();
    thread.post(3, pack([entry("r3")])); // a batch before idleMs passed keeps the thread
    await written(3);
    clock.advance(30_000);
    expect(thread.running).toBe(true);
    expect(thread.starts).toBe(2);

    await thread.close();
    expect(thread.running).toBe(false);
    expect(db.prepare("SELECT request_id FROM calls ORDER BY id").pluck().all()).toEqual(["r1", "r2", "r3"]);
    db.close();
  });
});
