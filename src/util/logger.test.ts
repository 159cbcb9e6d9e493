import { spawnSync } from "node:child_process";
import { describe, expect, it, vi } from "vitest";
import { createLogger } from "./logger.js";
import { TurnBatchedDestination } from "./log-destination.js";

const LOGGER = JSON.stringify(new URL("./logger.ts", import.meta.url).pathname);

/** Runs `body` in a child with a default (stdout) logger `l`; returns its stdout lines parsed. */
function child(body: string) {
  const script = [`import { createLogger } from ${LOGGER};`, `const l = createLogger("info");`, body].join("\n");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
  const lines = r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { r, lines };
}

/** A sink that records each write(2) it would have made. */
function recorder() {
  const writes: string[] = [];
  return { writes, sink: { write: (d: string) => writes.push(d) } };
}

describe("default logger destination", () => {
  it("writes a turn's lines by the end of that turn, so a SIGKILL after it loses nothing", () => {
    const { r, lines } = child(
      `for (let i = 0; i < 3; i++) l.info({ i, api_key: "sk-live-0123456789abcdef" }, "line");\n` +
        `setImmediate(() => process.kill(process.pid, "SIGKILL"));`,
    );
    expect(r.signal).toBe("SIGKILL");
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
    expect(lines.every((l) => l.api_key === "[REDACTED]")).toBe(true);
  });

  it("writes what is buffered when the process exits or crashes inside the turn", () => {
    const exited = child(`l.info({ i: 1 }, "before exit"); process.exit(3);`);
    expect(exited.r.status).toBe(3);
    expect(exited.lines.map((l) => l.msg)).toEqual(["before exit"]);
    const crashed = child(`l.info({ i: 1 }, "before crash"); throw new Error("boom");`);
    expect(crashed.r.status).toBe(1);
    expect(crashed.lines.map((l) => l.msg)).toEqual(["before crash"]);
  });

  it("writes an error line at once, before the turn ends", () => {
    const { r, lines } = child(`l.info("queued"); l.error("failing"); process.kill(process.pid, "SIGKILL");`);
    expect(r.signal).toBe("SIGKILL");
    expect(lines.map((l) => l.msg)).toEqual(["queued", "failing"]);
  });
});

describe("TurnBatchedDestination", () => {
  it("joins the lines of one turn into one write, in order, and starts again next turn", async () => {
    const { writes, sink } = recorder();
    const l = createLogger("info", new TurnBatchedDestination(sink));
    for (let i = 0; i < 50; i++) l.info({ i }, "request");
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.trim().split("\n").map((s) => (JSON.parse(s) as { i: number }).i)).toEqual([...Array(50).keys()]);
    l.info({ i: 50 }, "request");
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(2);
    expect(JSON.parse(writes[1]!)).toMatchObject({ i: 50, level: "info", service: "llmpool", msg: "request" });
  });

  it("flushes on logger.flush()", () => {
    const { writes, sink } = recorder();
    const l = createLogger("info", new TurnBatchedDestination(sink));
    l.info("one");
    l.flush();
    expect(writes).toHaveLength(1);
  });
});

describe("redaction in log lines", () => {
  it("censors secret-named fields at any depth, whatever they hold", async () => {
    const { writes, sink } = recorder();
    const l = createLogger("info", new TurnBatchedDestination(sink));
    l.info(
      {
        api_key: "short",
        providers: [{ name: "a", api_key: "plain-looking-value" }],
        headers: { authorization: "Basic dXNlcjpwYXNz", "x-api-key": "k1", accept: "text/plain" },
        nested: { apiKey: 12345 },
      },
      "config",
    );
    l.flush();
    const line = JSON.parse(writes[0]!) as Record<string, any>;
    expect(line.api_key).toBe("[REDACTED]");
    expect(line.providers[0]).toEqual({ name: "a", api_key: "[REDACTED]" });
    expect(line.headers).toEqual({ authorization: "[REDACTED]", "x-api-key": "[REDACTED]", accept: "text/plain" });
    expect(line.nested.apiKey).toBe("[REDACTED]");
    expect(writes[0]).not.toContain("plain-looking-value");
    expect(writes[0]).not.toContain("dXNlcjpwYXNz");
  });

  it("stamps lines with an ISO time, the same within a millisecond and fresh after", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const { writes, sink } = recorder();
      const l = createLogger("info", new TurnBatchedDestination(sink));
      vi.setSystemTime(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
      l.info("a");
      l.info("b");
      vi.setSystemTime(Date.UTC(2026, 0, 2, 3, 4, 5, 9));
      l.info("c");
      l.flush();
      const times = writes[0]!.trim().split("\n").map((s) => (JSON.parse(s) as { time: string }).time);
      expect(times).toEqual(["2026-01-02T03:04:05.006Z", "2026-01-02T03:04:05.006Z", "2026-01-02T03:04:05.009Z"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
