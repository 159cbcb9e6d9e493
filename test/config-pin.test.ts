/**
 * A remote config pinned to a checksum (`--config-url URL --config-sha256 HEX`,
 * LLMPOOL_CONFIG_SHA256; README "Hot reload"): refused at start and on every poll when its
 * SHA-256 differs, the error naming the expected and the actual hash; the old config keeps
 * serving.
 */
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ConfigError, parseConfigText } from "../src/config/load.js";
import { createReloader, type ReloadResult } from "../src/config/reload.js";
import { checksum } from "../src/config/remote.js";
import { findConfigSource, loadEffectiveConfig } from "../src/config/source.js";
import { createFakeClock } from "../src/util/clock.js";
import { startServer } from "./helpers/server.js";

const exec = promisify(execFile);
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const doc = (model: string) =>
  stringify({ log: { level: "silent" }, cost: { ledger: { path: ":memory:" } }, providers: [{ name: "m", type: "mock", models: [model] }] });

/** An HTTP server answering with `body.text`, which the test may change. */
async function configServer(first: string) {
  const body = { text: first };
  const srv = http.createServer((_req, res) => res.end(body.text));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  cleanup.push(() => new Promise<void>((r) => srv.close(() => r())));
  return { body, url: `http://user:secret@127.0.0.1:${(srv.address() as AddressInfo).port}/llmpool.yaml?token=abc` };
}

async function refusal(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("--config-sha256", () => {
  it("loads a config whose checksum matches (flag or LLMPOOL_CONFIG_SHA256, any case) and refuses one that differs", async () => {
    const text = doc("a");
    const { url } = await configServer(text);
    const good = checksum(text);
    const loaded = await loadEffectiveConfig({ configUrl: url, configSha256: good.toUpperCase(), env: {} });
    expect(loaded.config.providers[0]!.models).toEqual(["a"]);
    await loadEffectiveConfig({ configUrl: url, env: { LLMPOOL_CONFIG_SHA256: good } });
    const wrong = "0".repeat(64);
    const err = await refusal(loadEffectiveConfig({ configUrl: url, configSha256: wrong, env: {} }));
    expect(err.message).toBe(
      `invalid config http://127.0.0.1:${new URL(url).port}/llmpool.yaml:\n  (url): checksum mismatch: expected sha256 ${wrong} (--config-sha256), got ${good}; config refused`,
    );
    expect(err.message).not.toContain("secret");
    const envErr = await refusal(loadEffectiveConfig({ configUrl: url, env: { LLMPOOL_CONFIG_SHA256: wrong } }));
    expect(envErr.message).toContain(`expected sha256 ${wrong}`);
  });

  it("refuses a malformed checksum, or one without a config URL, naming its source", () => {
    expect(() => findConfigSource({ configUrl: "http://127.0.0.1:1/c.yaml", configSha256: "abc", env: {} })).toThrow(
      /--config-sha256:\n  \(flags\): expected a SHA-256 checksum: 64 hex digits \(got 3 characters\)/,
    );
    expect(() => findConfigSource({ configUrl: "http://127.0.0.1:1/c.yaml", env: { LLMPOOL_CONFIG_SHA256: "z".repeat(64) } })).toThrow(/LLMPOOL_CONFIG_SHA256/);
    expect(() => findConfigSource({ configSha256: "a".repeat(64), env: {} })).toThrow(/--config-sha256:\n  \(flags\): only with --config-url/);
  });

  it("every poll refuses a body with another checksum; the old config keeps serving", async () => {
    const first = doc("a");
    const { body, url } = await configServer(first);
    const s = await startServer(parseConfigText(first, "t") as Record<string, unknown>);
    cleanup.push(() => s.close());
    const clock = createFakeClock();
    const results: ReloadResult[] = [];
    let wake: (() => void) | undefined;
    const reloader = createReloader({
      source: findConfigSource({ configUrl: url, configSha256: checksum(first), env: {} })!,
      current: () => s.server.loaded,
      apply: (next) => s.server.reload(next),
      clock,
      onResult: (r) => {
        results.push(r);
        wake?.();
      },
    });
    cleanup.push(() => reloader.stop());
    const next = () => new Promise<ReloadResult>((r) => (wake = () => r(results.at(-1)!)));
    reloader.start();
    let p = next();
    clock.advance(30_000);
    expect(await p).toEqual({ status: "unchanged" });
    body.text = doc("b");
    p = next();
    clock.advance(30_000);
    const r = await p;
    expect(r.status).toBe("invalid");
    expect((r as { error: string }).error).toContain(`checksum mismatch: expected sha256 ${checksum(first)} (--config-sha256), got ${checksum(doc("b"))}`);
    expect((await s.grpc.listModels({})).models.map((m) => m.name)).toEqual(["a"]);
  });

  it("the CLI refuses to start on a mismatch, printing both hashes", async () => {
    const { url } = await configServer(doc("a"));
    const wrong = "f".repeat(64);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const r = await exec(process.execPath, ["--import", "tsx", "src/cli.ts", "print-config", "--config-url", url, "--config-sha256", wrong], { env }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`expected sha256 ${wrong} (--config-sha256), got ${checksum(doc("a"))}`);
    const ok = await exec(process.execPath, ["--import", "tsx", "src/cli.ts", "print-config", "--config-url", url, "--config-sha256", checksum(doc("a"))], { env });
    expect(ok.stdout).toContain("models:\n      - a");
  });
});
