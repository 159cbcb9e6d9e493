/**
 * `state:` from the config file to the running server: validation that names the path, the
 * Redis password kept out of print-config and logs, and both outage modes of one server on a
 * real redis-server (local: each limit / replicas_hint; closed: UNAVAILABLE naming the backend).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, validateConfig } from "../src/config/load.js";
import { failure, harness } from "./helpers/harness.js";
import { createLogger } from "../src/util/logger.js";
import { freePort, startRedis, type TestRedis } from "./helpers/redis.js";
import { openaiProvider, user } from "./helpers/server.js";

const h = harness();
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});

const problems = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
  try {
    validateConfig({ providers: [{ name: "m", type: "mock", models: ["x"] }], ...raw }, "test", env);
  } catch (err) {
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
};

const fast = { commandTimeoutMs: 200, connectTimeoutMs: 300, reconnectMs: { initial: 20, max: 200 }, probeIntervalMs: 50 };

async function until(f: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("state config", () => {
  it("defaults to memory; every wrong value names its path", () => {
    expect(validateConfig({ providers: [{ name: "m", type: "mock", models: ["x"] }] }, "t").config.state).toEqual({
      backend: "memory",
      key_prefix: "llmpool",
      on_unavailable: "local",
      replicas_hint: 1,
    });
    expect(problems({ state: { backend: "redis" } })).toEqual([expect.stringMatching(/^state\.url: is required with backend redis/)]);
    expect(problems({ state: { backend: "etcd" } })).toEqual(['state.backend: unknown state backend "etcd"; expected memory or redis']);
    expect(problems({ state: { backend: "redis", url: "http://x:1" } })).toEqual([expect.stringMatching(/^state\.url: must be a redis:\/\/ or rediss:\/\//)]);
    expect(problems({ state: { on_unavailable: "open", replicas_hint: 0, key_prefix: "a b", colour: 1 } })).toEqual(
      expect.arrayContaining([
        'state.on_unavailable: unknown on_unavailable "open"; expected local or closed',
        "state.replicas_hint: must be >= 1",
        "state.key_prefix: letters, digits and _ . : - only",
        "state.colour: unknown key",
      ]),
    );
    expect(problems({ state: { backend: "redis", url: "${REDIS_URL}" } })[0]).toBe("state.url: environment variable REDIS_URL is not set");
    const ok = validateConfig({ state: { backend: "redis", url: "${REDIS_URL}" }, providers: [{ name: "m", type: "mock", models: ["x"] }] }, "t", { REDIS_URL: "rediss://u:pw-secret-1@h:6380" });
    expect(ok.config.state.url).toBe("rediss://u:pw-secret-1@h:6380");
  });

  it("print-config never shows the Redis password", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llmpool-state-"));
    const file = join(dir, "c.yaml");
    writeFileSync(file, "state: { backend: redis, url: 'redis://ops:s3cret-redis-pw@10.0.0.5:6379/2' }\nproviders: [{ name: m, type: mock, models: [x] }]\n");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "src/cli.ts", "print-config", "--config", file]);
    expect(stdout).toContain("redis://ops:REDACTED@10.0.0.5:6379/2");
    expect(stdout).not.toContain("s3cret-redis-pw");
  }, 30_000);
});

describe("a server on Redis when Redis goes away", () => {
  it("closed: UNAVAILABLE naming the state backend while it is down, served again once it is back", async () => {
    const [f] = await h.fakes("a");
    const s = await h.serve(
      { state: { backend: "redis", url: redis.url, key_prefix: "closed", on_unavailable: "closed" }, pool: { warmup: { enabled: false } }, providers: [openaiProvider("a", f!.url, { rpm: 100 })] },
      { redis: fast },
    );
    await until(() => metricsUp(s.url));
    expect((await s.grpc.chat({ messages: [user("hi")] })).provider).toBe("a");
    await redis.kill();
    await until(async () => !(await metricsUp(s.url)));
    const t = Date.now();
    const err = await failure(s.grpc.chat({ messages: [user("hi")] }));
    expect(Date.now() - t).toBeLessThan(1000);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/state backend redis is unavailable and state\.on_unavailable is closed/);
    await redis.start();
    await until(() => metricsUp(s.url));
    expect((await s.grpc.chat({ messages: [user("hi")] })).provider).toBe("a");
  }, 30_000);

  it("local: each replica falls back to limit / replicas_hint, and shares again once Redis is back", async () => {
    const [f] = await h.fakes("a");
    const s = await h.serve(
      { state: { backend: "redis", url: redis.url, key_prefix: "local", replicas_hint: 3 }, pool: { warmup: { enabled: false }, queue: { max_size: 0 } }, providers: [openaiProvider("a", f!.url, { rpm: 9 })] },
      { redis: fast },
    );
    await until(() => metricsUp(s.url));
    // Shared: all 9 of the minute's calls may come from this one replica; streams count too.
    const stream = async () => {
      let text = "";
      for await (const c of s.grpc.streamChat({ messages: [user("hi")] })) text += c.delta;
      return text;
    };
    const shared = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? stream() : s.grpc.chat({ messages: [user("hi")] }))));
    expect(shared.filter((r) => r.status === "fulfilled").length).toBe(9);
    expect(f!.chatRequests().filter((r) => r.body.stream === true).length).toBeGreaterThanOrEqual(4);
    await redis.kill();
    await until(async () => !(await metricsUp(s.url)));
    // Down: this replica's share is 9 / 3 = 3, and it already made 9 calls this minute.
    const err = await failure(s.grpc.chat({ messages: [user("hi")] }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/rpm 3 reached/);
    await redis.start();
    await until(() => metricsUp(s.url));
    // Redis came back empty: the shared window starts fresh.
    expect((await s.grpc.chat({ messages: [user("hi")] })).provider).toBe("a");
  }, 30_000);
});

describe("a server whose Redis is missing at start-up", () => {
  it("starts, says so once in its log, serves under local limits, and never shows the password", async () => {
    const [f] = await h.fakes("a");
    const port = await freePort();
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("info", { write: (l: string) => void lines.push(JSON.parse(l)) });
    const s = await h.serve(
      { state: { backend: "redis", url: `redis://ops:pw-never-logged@127.0.0.1:${port}`, replicas_hint: 2 }, pool: { warmup: { enabled: false }, queue: { max_size: 0 } }, providers: [openaiProvider("a", f!.url, { rpm: 4 })] },
      { redis: fast, logger },
    );
    await until(() => lines.some((l) => String(l.msg).startsWith("state backend down")));
    expect((await s.grpc.chat({ messages: [user("hi")] })).provider).toBe("a");
    expect((await s.grpc.chat({ messages: [user("hi")] })).provider).toBe("a");
    const err = await failure(s.grpc.chat({ messages: [user("hi")] }));
    expect(err.rawMessage).toMatch(/rpm 2 reached/);
    const down = lines.filter((l) => String(l.msg).startsWith("state backend down"));
    expect(down).toHaveLength(1);
    expect(down[0]!.url).toBe(`redis://ops:REDACTED@127.0.0.1:${port}`);
    expect(JSON.stringify(lines)).not.toContain("pw-never-logged");
    expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/llmpool_state_backend_up\{backend="redis"\} 0/);
  }, 30_000);
});

async function metricsUp(url: string): Promise<boolean> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return /llmpool_state_backend_up\{backend="redis"\} 1/.test(text);
}
