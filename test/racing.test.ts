/**
 * Racing and hedging through the gRPC API: concurrent upstream calls, the winner reported,
 * the losers aborted upstream and counted in upstream_calls.
 */
import { describe, expect, it } from "vitest";
import { type FakeUpstream } from "./helpers/fake-openai.js";
import { openaiProvider, user } from "./helpers/server.js";
import { harness } from "./helpers/harness.js";

const { cleanup, fakes, serve } = harness();

const received = (...ups: FakeUpstream[]) => ups.map((u) => u.chatRequests().length);
const racing = (racing: Record<string, unknown>) => ({
  strategy: "racing",
  strategy_options: { racing: { select: "round_robin", ...racing } },
  retry_backoff_ms: { initial: 0, max: 0 },
});

describe("racing: first_wins", () => {
  it("calls two upstreams at once, answers with the first and aborts the other", async () => {
    const [slow, fast] = await fakes("slow", "fast");
    slow!.behave({ hang: true });
    const s = await serve({ pool: racing({}), providers: [openaiProvider("slow", slow!.url), openaiProvider("fast", fast!.url)] });
    const res = await s.grpc.chat({ messages: [user("go")] });
    expect(res).toMatchObject({ provider: "fast", attempts: 1, upstreamCalls: 2, message: { content: "Hello from fast" } });
    expect(res.providersTried.sort()).toEqual(["fast", "slow"]);
    expect((await slow!.waitForAbort()).aborted).toBe(true);
    expect(received(slow!, fast!)).toEqual([1, 1]);
    const stats = await s.grpc.getPoolStats({});
    expect(Number(stats.totals!.upstreamCalls)).toBe(2);
    // The loser is not counted as a failure of its provider.
    expect(stats.providers.find((p) => p.name === "slow")!.failures).toBe(0n);
  });

  it("streams: the first token wins", async () => {
    const [late, early] = await fakes("late", "early");
    late!.behave({ delayMs: 2000, chunks: ["late ", "text"] });
    early!.behave({ chunks: ["early ", "bird"], chunkDelayMs: 5 });
    const s = await serve({ pool: racing({}), providers: [openaiProvider("late", late!.url), openaiProvider("early", early!.url)] });
    const chunks = [];
    for await (const c of s.grpc.streamChat({ messages: [user("go")] })) chunks.push(c);
    expect(chunks.map((c) => c.delta).join("")).toBe("early bird");
    expect(chunks[0]!.provider).toBe("early");
    expect(chunks.at(-1)).toMatchObject({ provider: "early", attempts: 1, upstreamCalls: 2, finishReason: "stop" });
    expect((await late!.waitForAbort()).aborted).toBe(true);
  });

  it("when every leg fails, falls back like any failed attempt", async () => {
    const [a, b, c] = await fakes("a", "b", "c");
    a!.behave({ status: 500 });
    b!.behave({ status: 503 });
    const s = await serve({
      pool: racing({}),
      providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url), openaiProvider("c", c!.url)],
    });
    const res = await s.grpc.chat({ messages: [user("go")], routing: { provider: "a" } });
    expect(res).toMatchObject({ provider: "c", attempts: 2, upstreamCalls: 3 });
    expect(received(a!, b!, c!)).toEqual([1, 1, 1]);
  });
});

describe("racing: hedged", () => {
  const hedged = (delay: number | string) => racing({ mode: "hedged", hedge_delay: delay, hedge_budget: 1 });

  it("sends a hedge only when the first upstream is slower than the delay", async () => {
    const [first, second] = await fakes("first", "second");
    // A delay well above a quick answer's time even on a loaded machine.
    const s = await serve({ pool: hedged(250), providers: [openaiProvider("first", first!.url), openaiProvider("second", second!.url)] });
    // Quick answer: no hedge.
    const quick = await s.grpc.chat({ messages: [user("go")], routing: { provider: "first" } });
    expect(quick).toMatchObject({ provider: "first", upstreamCalls: 1 });
    expect(received(first!, second!)).toEqual([1, 0]);
    // Stuck first upstream: the hedge answers.
    first!.behave({ hang: true });
    const slow = await s.grpc.chat({ messages: [user("go")], routing: { provider: "first" } });
    expect(slow).toMatchObject({ provider: "second", attempts: 1, upstreamCalls: 2, providersTried: ["first", "second"] });
    expect(slow.latencyMs).toBeGreaterThanOrEqual(250);
    expect((await first!.waitForAbort()).aborted).toBe(true);
  });

  it("streams: hedges when the first token is late", async () => {
    const [first, second] = await fakes("first", "second");
    first!.behave({ hang: true });
    second!.behave({ chunks: ["from ", "second"] });
    const s = await serve({ pool: hedged(30), providers: [openaiProvider("first", first!.url), openaiProvider("second", second!.url)] });
    const chunks = [];
    for await (const c of s.grpc.streamChat({ messages: [user("go")], routing: { provider: "first" } })) chunks.push(c);
    expect(chunks.map((c) => c.delta).join("")).toBe("from second");
    expect(chunks.at(-1)).toMatchObject({ provider: "second", upstreamCalls: 2 });
    expect((await first!.waitForAbort()).aborted).toBe(true);
  });

  it("the hedge budget caps hedges whatever the upstreams do", async () => {
    const [first, second] = await fakes("first", "second");
    first!.behave({ delayMs: 30 });
    const s = await serve({
      pool: racing({ mode: "hedged", hedge_delay: 5, hedge_budget: 0.2 }),
      providers: [openaiProvider("first", first!.url), openaiProvider("second", second!.url)],
    });
    let calls = 0;
    for (let i = 0; i < 20; i++) calls += (await s.grpc.chat({ messages: [user("go")], routing: { provider: "first" } })).upstreamCalls;
    // One token to start with, then 0.2 per request: at most 1 + 20 * 0.2 hedges.
    expect(calls - 20).toBeGreaterThanOrEqual(4);
    expect(calls - 20).toBeLessThanOrEqual(5);
  });
});
