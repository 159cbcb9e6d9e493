/**
 * `cost.ledger.writer`, through the real server with the README's example: `inline` writes the
 * SQLite file from the event loop and starts no worker thread; `thread` (the default) writes
 * the same rows from one. Worker construction is counted by wrapping node:worker_threads.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { parseConfigText } from "../src/config/load.js";
import { startServer, user } from "./helpers/server.js";
import { harness } from "./helpers/harness.js";

const workers = vi.hoisted(() => ({ started: 0 }));
vi.mock("node:worker_threads", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:worker_threads")>();
  class CountedWorker extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      workers.started++;
    }
  }
  return { ...real, default: { ...real, Worker: CountedWorker }, Worker: CountedWorker };
});

const { cleanup } = harness();

/** The README's `writer: inline` example. */
function readmeExample(): Record<string, unknown> {
  const readme = readFileSync("README.md", "utf8");
  const section = readme.slice(readme.indexOf("\n### The ledger\n"));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
  expect(block).toContain("writer: inline");
  return parseConfigText(block, "README") as Record<string, unknown>;
}

async function rowsWritten(writer: "inline" | "thread"): Promise<number> {
  const raw = readmeExample();
  const dir = mkdtempSync(join(tmpdir(), "llmpool-writer-"));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "ledger.db");
  const cost = raw.cost as { ledger: Record<string, unknown> };
  cost.ledger = { ...cost.ledger, path, writer };
  const s = await startServer(raw);
  cleanup.push(() => s.close());
  for (let i = 0; i < 3; i++) await s.connect.chat({ model: "m", messages: [user("hi")], metadata: { tenant: "acme" } });
  await s.close(); // shutdown writes what is queued
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM calls WHERE tenant = 'acme'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("cost.ledger.writer", () => {
  it("inline: every call reaches the file and no writer thread starts", async () => {
    workers.started = 0;
    expect(await rowsWritten("inline")).toBe(3);
    expect(workers.started).toBe(0);
  });

  it("thread: the same rows, written by a worker thread", async () => {
    workers.started = 0;
    expect(await rowsWritten("thread")).toBe(3);
    expect(workers.started).toBe(1);
  });
});
