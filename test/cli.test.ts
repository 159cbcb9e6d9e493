/**
 * The command line as an operator uses it: check-config, print-config, and serve with the
 * embedded default, then SIGTERM.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";

const exec = promisify(execFile);
const CLI = ["--import", "tsx", "src/cli.ts"];
const dir = mkdtempSync(join(tmpdir(), "llmpool-cli-"));

/** The environment without any provider key, so the embedded default is the mock pool. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/_API_KEY$|^LLMPOOL_|^OLLAMA_|^LMSTUDIO_/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

async function run(args: string[], env = cleanEnv()) {
  try {
    const r = await exec(process.execPath, [...CLI, ...args], { env, cwd: process.cwd() });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("llmpool CLI", () => {
  it("check-config accepts a good file and lists every problem of a bad one", async () => {
    const good = join(dir, "good.yaml");
    writeFileSync(good, "providers:\n  - name: m\n    type: mock\n    models: [mock]\n");
    const ok = await run(["check-config", good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/good\.yaml: OK \(version [0-9a-f]{12}; 1 provider\(s\), strategy adaptive, fallback next_available\)/);

    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      [
        "pool: { strategy: nope }",
        "providers:",
        "  - name: a",
        "    type: openai",
        "    base_url: ftp://x",
        "    api_key: ${LLMPOOL_TEST_UNSET_KEY}",
        "    models: [gpt-4o-mini]",
        "    wieght: 2",
      ].join("\n"),
    );
    const res = await run(["check-config", bad]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("pool.strategy: unknown strategy \"nope\"");
    expect(res.stderr).toContain("providers[0].base_url: scheme ftp:// not supported (expected http:// or https://)");
    expect(res.stderr).toContain("providers[0].api_key: environment variable LLMPOOL_TEST_UNSET_KEY is not set");
    expect(res.stderr).toContain("providers[0].wieght: unknown key; did you mean `weight`?");
  }, 30_000);

  it("print-config shows the embedded mock pool, flags over environment", async () => {
    const res = await run(["print-config", "--strategy", "round_robin"], cleanEnv({ LLMPOOL_PORT: "6001" }));
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("# source: embedded default");
    expect(res.stdout).toMatch(/port: 6001/);
    expect(res.stdout).toMatch(/name: mock-fast/);
  }, 30_000);

  it("print-config never prints a key", async () => {
    const res = await run(["print-config"], cleanEnv({ OPENAI_API_KEY: "sk-cli-test-secret-abcdef" }));
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/name: openai/);
    expect(res.stdout).not.toContain("sk-cli-test-secret-abcdef");
  }, 30_000);

  it("serves the embedded default, answers, and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, [...CLI, "serve", "--port", "0", "--host", "127.0.0.1"], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    try {
      const lines = createInterface({ input: child.stdout! });
      let port = 0;
      for await (const line of lines) {
        const j = JSON.parse(line);
        if (j.msg?.startsWith("llmpool serving")) {
          port = Number(String(j.address).split(":").pop());
          break;
        }
      }
      expect(port).toBeGreaterThan(0);
      const client = createClient(LLMPool, createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }));
      const res = await client.chat({ messages: [{ role: "user", content: "ping" }] });
      expect(res.provider).toMatch(/^mock-/);
      expect(res.message?.content).toContain("You said: ping");
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 30_000);
});
