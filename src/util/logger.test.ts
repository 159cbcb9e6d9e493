import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("default logger destination", () => {
  it("has written each line to stdout by the time the log call returns", () => {
    // The process is killed (no exit hooks, no pending I/O completed) right after logging: a
    // line still queued for libuv's thread pool would be lost.
    const script = [
      `import { createLogger } from ${JSON.stringify(new URL("./logger.ts", import.meta.url).pathname)};`,
      `const l = createLogger("info");`,
      `for (let i = 0; i < 3; i++) l.info({ i, api_key: "sk-live-0123456789abcdef" }, "line");`,
      `process.kill(process.pid, "SIGKILL");`,
    ].join("\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.signal).toBe("SIGKILL");
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { i: number; api_key: string });
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
    expect(lines.every((l) => l.api_key === "[REDACTED]")).toBe(true);
  });
});
