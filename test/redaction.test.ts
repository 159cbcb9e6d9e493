/**
 * Issue 12, redaction rows: secrets in provider `headers:` echoed by an upstream never reach
 * the Chat error, GetPoolStats lastError, the logs or print-config; redaction happens before
 * truncation, so a key across the cut leaks no prefix.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/util/logger.js";
import { failure, harness } from "./helpers/harness.js";
import { openaiProvider, user } from "./helpers/server.js";

const h = harness();
const HEADER_SECRET = "hdr-value-7f3a9c21e4b8d605aa";
const BEARER_SECRET = "tok-5d1e8c0b9a7f2e4c6b3a";
// No well-known key shape: only registration can hide it.
const PLAIN_KEY = "plainkey-0123456789abcdefghijklmn";

function capture() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger("debug", dest as never) };
}

describe("redaction", () => {
  it("hides provider header values an upstream echoes: Chat error, lastError, logs", async () => {
    const [up] = await h.fakes("a");
    // The upstream echoes every header it got, as some proxies do in their errors.
    up!.behave((rec) => ({ status: 401, errorBody: { error: { message: `rejected headers: ${JSON.stringify(rec.headers)}` } } }));
    const log = capture();
    const s = await h.serve(
      {
        pool: { max_retries: 0, warmup: { enabled: false } },
        providers: [openaiProvider("a", up!.url, { headers: { "x-custom-secret": HEADER_SECRET, "x-upstream-auth": `Bearer ${BEARER_SECRET}` } })],
      },
      { logger: log.logger },
    );
    const err = await failure(s.connect.chat({ model: "gpt-4o-mini", messages: [user("hi")] }));
    expect(err.rawMessage).toContain("rejected headers");
    expect(err.rawMessage).toContain("[REDACTED]");
    expect(err.rawMessage).not.toContain(HEADER_SECRET);
    expect(err.rawMessage).not.toContain(BEARER_SECRET);
    const stats = await s.connect.getPoolStats({});
    const last = stats.providers.find((p) => p.name === "a")!.lastError;
    expect(last).toContain("rejected headers");
    expect(last).not.toContain(HEADER_SECRET);
    expect(last).not.toContain(BEARER_SECRET);
    const all = log.lines.join("");
    expect(all).toContain("rejected headers");
    expect(all).not.toContain(HEADER_SECRET);
    expect(all).not.toContain(BEARER_SECRET);
  });

  it("redacts before truncating: a key across the 300-character cut leaks no prefix", async () => {
    const [up] = await h.fakes("b");
    const pad = "x".repeat(285);
    up!.behave({ status: 401, errorBody: { error: { message: `${pad} key ${PLAIN_KEY} was refused` } } });
    const s = await h.serve({ pool: { max_retries: 0, warmup: { enabled: false } }, providers: [openaiProvider("b", up!.url, { api_key: PLAIN_KEY })] });
    const err = await failure(s.connect.chat({ model: "gpt-4o-mini", messages: [user("hi")] }));
    expect(err.rawMessage).toContain("xxxx");
    // Not even the first 8 characters of the key survive the cut.
    expect(err.rawMessage).not.toContain(PLAIN_KEY.slice(0, 8));
    const stats = await s.connect.getPoolStats({});
    expect(stats.providers[0]!.lastError).not.toContain(PLAIN_KEY.slice(0, 8));
  });

  it("print-config hides header values, URL credentials and virtual keys", () => {
    const dir = mkdtempSync(join(tmpdir(), "llmpool-redact-"));
    const file = join(dir, "c.yaml");
    writeFileSync(
      file,
      JSON.stringify({
        server: { auth: { keys: [{ key: "vk-team-a-0123456789abcdef", tenant: "a" }] } },
        providers: [
          {
            name: "a",
            type: "openai",
            base_url: "https://user:urlpass-93ad1c7e@proxy.example/v1?api_key=qkey-4b7e0d2a91",
            api_key: PLAIN_KEY,
            headers: { "x-custom-secret": HEADER_SECRET, "content-type": "application/json" },
            models: ["m"],
          },
        ],
      }),
    );
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", "print-config", "--config", file], { encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(r.status, r.stderr).toBe(0);
    for (const secret of [HEADER_SECRET, "urlpass-93ad1c7e", "qkey-4b7e0d2a91", PLAIN_KEY, "vk-team-a-0123456789abcdef"]) expect(r.stdout).not.toContain(secret);
    expect(r.stdout).toContain("[REDACTED]");
    expect(r.stdout).toContain("application/json"); // settings are not secrets
  }, 60_000);
});
