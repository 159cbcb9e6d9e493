/**
 * Pool-wide caps `pool.max_concurrency` and `pool.rpm` (README "Rate limits, cool-downs and
 * the queue"): the README example served for real, then against held fake upstreams.
 */
import { readFileSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";
import { harness, failure } from "./helpers/harness.js";
import { openaiProvider, user } from "./helpers/server.js";

const { fakes, serve } = harness();

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const start = readme.indexOf("**Pool-wide caps.**");
const example = /```yaml\n([\s\S]*?)```/.exec(readme.slice(start))![1]!;

describe("pool-wide caps", () => {
  it("the README example: the 4th request in a minute is refused naming pool.rpm, with a retry delay", async () => {
    const raw = parseConfigText(example, "README") as Record<string, unknown>;
    const s = await serve(raw);
    const served = new Set<string>();
    for (let i = 0; i < 3; i++) served.add((await s.grpc.chat({ model: "m", messages: [user(`q${i}`)] })).provider);
    const err = await failure(s.grpc.chat({ model: "m", messages: [user("one too many")] }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^pool\.rpm 3 reached; retry in \d+s/);
    const ms = Number(err.metadata.get("retry-after-ms"));
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThanOrEqual(60_000);
    // The refused request held nothing: it did not count towards the totals as served.
    const stats = await s.grpc.getPoolStats({});
    expect(Number(stats.totals!.successes)).toBe(3);
  });

  it("max_concurrency counts requests across all providers and frees a slot when one ends", async () => {
    const [a, b] = await fakes("a", "b");
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    a!.behave({ gate: held });
    b!.behave({ gate: held });
    const s = await serve({ pool: { max_concurrency: 2 }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const first = [s.grpc.chat({ messages: [user("1")] }), s.grpc.chat({ messages: [user("2")] })];
    // Both are upstream (whichever providers took them) before the third arrives.
    await expect.poll(() => a!.chatRequests().length + b!.chatRequests().length).toBe(2);
    const err = await failure(s.grpc.chat({ messages: [user("3")] }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("pool.max_concurrency 2 reached (2 requests in flight); retry in 1s");
    expect(err.metadata.get("retry-after-ms")).toBe("1000");
    // A stream is a request too.
    const streamErr = await failure((async () => { for await (const _ of s.grpc.streamChat({ messages: [user("s")] })) void _; })());
    expect(streamErr.code).toBe(Code.ResourceExhausted);
    release();
    await Promise.all(first);
    const after = await s.grpc.chat({ messages: [user("4")] });
    expect(after.message!.content).toMatch(/Hello from/);
    expect(a!.chatRequests().length + b!.chatRequests().length).toBe(3);
  });

  it("a reload changes the caps at once", async () => {
    const [a] = await fakes("a");
    const s = await serve({ pool: { rpm: 1 }, providers: [openaiProvider("a", a!.url)] });
    await s.grpc.chat({ messages: [user("1")] });
    expect((await failure(s.grpc.chat({ messages: [user("2")] }))).rawMessage).toMatch(/^pool\.rpm 1 reached/);
    const loaded = validateConfig({ log: { level: "silent" }, cost: { ledger: { path: ":memory:" } }, pool: { rpm: 0 }, providers: [openaiProvider("a", a!.url)] }, "test", process.env);
    s.server.reload(loaded);
    await s.grpc.chat({ messages: [user("3")] });
  });

  it("refuses bad values, naming the key", () => {
    const bad = (pool: Record<string, unknown>) => () =>
      validateConfig({ pool, providers: [{ name: "m", type: "mock", models: ["x"] }] }, "test", {});
    expect(bad({ max_concurrency: -1 })).toThrow(/pool\.max_concurrency/);
    expect(bad({ rpm: 2.5 })).toThrow(/pool\.rpm.*integer/);
    expect(bad({ rpm: "10" })).toThrow(/pool\.rpm/);
  });
});
