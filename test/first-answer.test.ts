/**
 * Fresh start to first answer, the way `npm start` runs: the build check (scripts/build.mjs,
 * which skips tsc when dist/ is up to date), then the built server (dist/src/cli.js) with the
 * embedded mock default, timed from spawn to the first Chat answer. The README's restart figure
 * comes from this test's output; the only bound asserted is a generous sanity limit.
 */
import { spawn, spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/_API_KEY$|^LLMPOOL_|^OLLAMA_|^LMSTUDIO_|^AWS_/.test(k)) env[k] = v;
  }
  return env;
}

describe("first answer after start", () => {
  it("a restart with dist/ up to date skips tsc and answers quickly", { timeout: 240_000 }, async () => {
    // Make sure dist/ is built (a fresh checkout compiles here once).
    const first = spawnSync(process.execPath, ["scripts/build.mjs"], { encoding: "utf8" });
    expect(first.status, first.stderr).toBe(0);
    const stamp = statSync("dist/.build-stamp").mtimeMs;

    const t0 = performance.now();
    // What `npm start` runs: prestart (the build check), then serve.
    const check = spawnSync(process.execPath, ["scripts/build.mjs"], { encoding: "utf8" });
    expect(check.stderr).toContain("dist/ is up to date");
    expect(statSync("dist/.build-stamp").mtimeMs).toBe(stamp);
    const child = spawn(process.execPath, ["dist/src/cli.js", "serve", "--port", "0", "--host", "127.0.0.1"], {
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let port = 0;
      for await (const line of createInterface({ input: child.stdout! })) {
        const j = JSON.parse(line) as { address?: string };
        if (j.address) {
          port = Number(j.address.split(":").pop());
          break;
        }
      }
      expect(port).toBeGreaterThan(0);
      const client = createClient(LLMPool, createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }));
      const res = await client.chat({ messages: [{ role: "user", content: "hello" }] });
      const ms = performance.now() - t0;
      expect(res.message?.content.length).toBeGreaterThan(0);
      process.stdout.write(`first answer after restart: ${ms.toFixed(0)} ms (build check + server start + first Chat)\n`);
      expect(ms).toBeLessThan(30_000); // sanity only: the figure itself goes in the README
    } finally {
      child.kill("SIGTERM");
    }
  });
});
