/**
 * Composite providers through the gRPC API: racing, fallback and loadbalance over other
 * providers, nested, priced as the member that answered.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ConfigError, validateConfig } from "../src/config/load.js";
import { type FakeUpstream } from "./helpers/fake-openai.js";
import { openaiProvider, startServer, user, type TestServer } from "./helpers/server.js";
import { harness } from "./helpers/harness.js";

const { cleanup, fakes } = harness();

async function serve(raw: Record<string, unknown>): Promise<TestServer> {
  const s = await startServer({ pool: { default_model: "gpt-4o-mini", retry_backoff_ms: { initial: 0, max: 0 } }, ...raw });
  cleanup.push(() => s.close());
  return s;
}
const received = (...ups: FakeUpstream[]) => ups.map((u) => u.chatRequests().length);
/** Members serve a private model name, so only their composites route to them. */
const member = (name: string, url: string, extra: Record<string, unknown> = {}) =>
  openaiProvider(name, url, { models: { "member-only": "gpt-4o-mini" }, ...extra });

describe("composite providers", () => {
  it("racing: a racing pair answers as one provider, priced as the member that won", async () => {
    const [slow, fast] = await fakes("slow", "fast");
    slow!.behave({ hang: true });
    fast!.behave({ usage: { prompt_tokens: 1000, completion_tokens: 100 } });
    const s = await serve({
      providers: [
        member("slow", slow!.url, { pricing: { input_per_1m: 10, output_per_1m: 10 } }),
        member("fast", fast!.url, { pricing: { input_per_1m: 1, output_per_1m: 2 } }),
        { name: "pair", type: "racing", members: ["slow", "fast"], models: ["gpt-4o-mini"] },
      ],
    });
    const res = await s.grpc.chat({ messages: [user("go")] });
    // The answer names the member; served_by the path to it.
    expect(res).toMatchObject({ provider: "fast", servedBy: ["pair", "fast"], upstreamCalls: 1, message: { content: "Hello from fast" } });
    expect(res.costUsd).toBeCloseTo((1000 * 1 + 100 * 2) / 1e6, 12);
    expect((await slow!.waitForAbort()).aborted).toBe(true);
    expect(fast!.chatRequests()[0]!.body.model).toBe("gpt-4o-mini");
    // Members' stats show the calls they took inside the composite.
    const stats = await s.grpc.getPoolStats({ providers: ["slow", "fast"] });
    expect(stats.providers.map((p) => [p.name, Number(p.requests), Number(p.successes), Number(p.failures)])).toEqual([
      ["slow", 1, 0, 0],
      ["fast", 1, 1, 0],
    ]);
    // Streams race on the first token.
    const chunks = [];
    for await (const c of s.grpc.streamChat({ messages: [user("go")] })) chunks.push(c);
    expect(chunks.map((c) => c.delta).join("")).toBe("Hello from fast");
    expect(chunks.at(-1)).toMatchObject({ provider: "fast", servedBy: ["pair", "fast"] });
  });

  it("members keep their own limits: a race over a member with rpm 5 calls it at most 5 times, in its stats and /metrics", async () => {
    const [limited, free] = await fakes("limited", "free");
    const s = await serve({
      providers: [
        member("limited", limited!.url, { rpm: 5 }),
        member("free", free!.url),
        { name: "pair", type: "racing", members: ["limited", "free"], models: ["gpt-4o-mini"], strategy_options: { racing: { mode: "first_wins", fanout: 2 } } },
      ],
    });
    for (let i = 0; i < 20; i++) await s.grpc.chat({ messages: [user(`q${i}`)] });
    expect(received(limited!)).toEqual([5]);
    expect(received(free!)).toEqual([20]);
    const stats = await s.grpc.getPoolStats({ providers: ["limited"] });
    const st = stats.providers[0]!;
    expect(Number(st.requests)).toBe(5);
    expect(st.rateLimit).toMatchObject({ rpmLimit: 5, rpmRemaining: 0 });
    // Counted per check, as for the pool's own choice: each leg asks again.
    expect(Number(st.rateLimit!.rejections)).toBeGreaterThanOrEqual(15);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const calls = (p: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith("llmpool_upstream_requests_total{") && l.includes(`provider="${p}"`))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    expect(calls("limited")).toBe(5);
    expect(calls("free")).toBe(20);
    expect(calls("pair")).toBe(20);
  });

  it("fallback: members in order, the next one on a retryable failure, unary and streams", async () => {
    const [primary, secondary] = await fakes("primary", "secondary");
    primary!.behave({ status: 503 });
    const s = await serve({
      providers: [
        member("primary", primary!.url),
        member("secondary", secondary!.url),
        { name: "chain", type: "fallback", members: ["primary", "secondary"], models: ["gpt-4o-mini"] },
      ],
    });
    const res = await s.grpc.chat({ messages: [user("x")] });
    expect(res).toMatchObject({ provider: "secondary", servedBy: ["chain", "secondary"], attempts: 1, message: { content: "Hello from secondary" } });
    let text = "";
    for await (const c of s.grpc.streamChat({ messages: [user("x")] })) text += c.delta;
    expect(text).toBe("Hello from secondary");
    expect(received(primary!, secondary!)).toEqual([2, 2]);
    // Every member failing: UNAVAILABLE naming each.
    secondary!.behave({ status: 500, errorBody: { error: { message: "down too" } } });
    const err = ConnectError.from(await s.grpc.chat({ messages: [user("x")] }).catch((e) => e));
    expect(err.code).toBe(Code.Unavailable);
    // Calls through the composite count for the member's own breaker and ejection: after five
    // 503s in a row (two above, three of this request's attempts) primary is out of rotation,
    // so the composite's last attempt went to secondary alone.
    expect(err.rawMessage).toMatch(/chain: server \(HTTP 500\): member failed: secondary: server \(HTTP 500\): down too/);
    const st = await s.grpc.getPoolStats({ providers: ["primary"] });
    expect(st.providers[0]!.healthy).toBe(false);
    expect(received(primary!)).toEqual([5]);
  });

  it("loadbalance: members picked by its strategy; nests inside a fallback chain of pools", async () => {
    const [x, y, z] = await fakes("x", "y", "z");
    const s = await serve({
      providers: [
        member("x", x!.url),
        member("y", y!.url),
        member("z", z!.url),
        { name: "pool-a", type: "loadbalance", strategy: "round_robin", members: ["x", "y"], models: ["member-only"] },
        { name: "pool-b", type: "loadbalance", members: ["z"], models: ["member-only"] },
        { name: "chain", type: "fallback", members: ["pool-a", "pool-b"], models: ["gpt-4o-mini"] },
      ],
    });
    const paths: string[][] = [];
    for (let i = 0; i < 4; i++) paths.push((await s.grpc.chat({ messages: [user("x")] })).servedBy);
    // Nested composites: served_by is the whole path, provider its last member.
    expect(paths).toEqual([["chain", "pool-a", "x"], ["chain", "pool-a", "y"], ["chain", "pool-a", "x"], ["chain", "pool-a", "y"]]);
    expect(received(x!, y!, z!)).toEqual([2, 2, 0]);
    // The first pool down: the chain moves to the second.
    x!.behave({ status: 503 });
    y!.behave({ status: 503 });
    const res = await s.grpc.chat({ messages: [user("x")] });
    expect(res.message?.content).toBe("Hello from z");
  });

  it("rejects cycles and misconfigured composites at load, naming the path", () => {
    const problems = (providers: unknown[], pool: Record<string, unknown> = {}) => {
      try {
        validateConfig({ pool, providers }, "t", {});
        return [];
      } catch (err) {
        return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
      }
    };
    const m = (name: string) => ({ name, type: "mock", models: ["m"] });
    expect(
      problems([m("a"), { name: "p", type: "fallback", members: ["q"], models: ["m"] }, { name: "q", type: "loadbalance", members: ["p", "a"], models: ["m"] }]),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/^providers\[1\]\.members: cycle: p -> q -> p$/)]));
    expect(
      problems([
        m("a"),
        m("b"),
        { name: "r", type: "racing", members: ["a"], models: ["m"], strategy: "p2c" },
        { name: "l", type: "loadbalance", members: ["a", "b"], models: [], strategy: "racing" },
        { name: "f", type: "fallback", members: ["a", "nope"], models: ["m"] },
        { ...m("c"), strategy: "p2c" },
      ]),
    ).toEqual(
      expect.arrayContaining([
        'providers[4].members[1]: no provider named "nope"',
        "providers[2].strategy: only for type loadbalance (racing options go in strategy_options.racing)",
        "providers[2].members: a race needs at least two members",
        "providers[3].strategy: use type racing for a racing composite",
        "providers[3].models: list the models this composite serves",
        "providers[5].strategy: only for type loadbalance",
      ]),
    );
    expect(
      problems([m("a"), { name: "f", type: "fallback", members: ["a"], models: ["m"], strategy_options: { adaptive: { error_penalty: -1 } } }]),
    ).toEqual(["providers[1].strategy_options.adaptive.error_penalty: must be >= 0"]);
  });
});
