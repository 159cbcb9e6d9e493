/**
 * Composite providers in memory: members are real endpoints with mock adapters.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../../config/load.js";
import { buildEndpoints } from "../build.js";
import { type StreamEvent, type UpstreamCall } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";
import { systemClock } from "../../util/clock.js";
import { compositeCapabilities, directMemberCalls, memberPickContext, membersFailed } from "./members.js";

const mock = (name: string, mockCfg: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name,
  type: "mock",
  models: { "m@member": "m" },
  mock: { latency_ms: 0, reply: `from ${name}`, ...mockCfg },
  ...extra,
});

function pool(providers: Record<string, unknown>[]) {
  const { config } = validateConfig({ providers }, "t", {});
  const endpoints = buildEndpoints(config, systemClock);
  return new Map(endpoints.map((e) => [e.name, e]));
}

function call(signal = new AbortController().signal): UpstreamCall {
  return { request: create(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: "hi" }] }), model: "m@member", signal, requestId: "r1" };
}

async function collect(it: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

describe("fallback composite", () => {
  it("tries members in order, records each on its endpoint, and tags who served", async () => {
    const eps = pool([mock("a", { failure_rate: 1 }), mock("b"), mock("c"), { name: "f", type: "fallback", members: ["a", "b", "c"], models: ["m"] }]);
    const res = await eps.get("f")!.provider.chat(call());
    expect(res.content).toBe("from b");
    expect(res.servedBy).toEqual({ provider: "b", model: "m", path: ["b"] });
    expect(["a", "b", "c"].map((n) => [eps.get(n)!.requests, eps.get(n)!.failures, eps.get(n)!.inFlight])).toEqual([
      [1, 1, 0],
      [1, 0, 0],
      [0, 0, 0],
    ]);
    expect(eps.get("b")!.fallbacks).toBe(1);
    // Streams: the failed member leaves no trace, the first event names the member.
    const events = await collect(eps.get("f")!.provider.stream(call()));
    expect(events[0]!.servedBy).toEqual({ provider: "b", model: "m", path: ["b"] });
    expect(events.map((e) => e.delta ?? "").join("")).toBe("from b");
  });

  it("skips members out of rotation and fails with every member's reason", async () => {
    const eps = pool([mock("a", { failure_rate: 1 }), mock("b", { failure_rate: 1 }), mock("off", {}, { enabled: false }), { name: "f", type: "fallback", members: ["off", "a", "b"], models: ["m"] }]);
    const err = (await eps.get("f")!.provider.chat(call()).catch((e: ProviderError) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe("all 2 members failed: a: overloaded (HTTP 503): mock failure (failure_rate); b: overloaded (HTTP 503): mock failure (failure_rate)");
    expect(err.scope).toBe("transient");
    expect(eps.get("off")!.requests).toBe(0);
  });

  it("releases the member when the consumer stops reading", async () => {
    const eps = pool([mock("a", { chunk_delay_ms: 5, words_per_chunk: 1, reply: "one two three four five six" }), { name: "f", type: "fallback", members: ["a"], models: ["m"] }]);
    const it = eps.get("f")!.provider.stream(call())[Symbol.asyncIterator]();
    await it.next();
    await it.return!(undefined);
    expect([eps.get("a")!.inFlight, eps.get("a")!.failures, eps.get("a")!.successes]).toEqual([0, 0, 0]);
  });
});

describe("loadbalance composite", () => {
  it("picks members with its strategy", async () => {
    const eps = pool([mock("a"), mock("b"), { name: "lb", type: "loadbalance", strategy: "round_robin", members: ["a", "b"], models: ["m"] }]);
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push((await eps.get("lb")!.provider.chat(call())).servedBy!.provider);
    expect(served).toEqual(["a", "b", "a", "b"]);
  });
});

describe("racing composite", () => {
  it("hedged: the second member answers when the first is late, and the first is cancelled", async () => {
    const eps = pool([
      mock("slow", { latency_ms: 2000 }),
      mock("fast"),
      { name: "r", type: "racing", members: ["slow", "fast"], models: ["m"], strategy_options: { racing: { mode: "hedged", hedge_delay: 20, select: "round_robin" } } },
    ]);
    const started = Date.now();
    const res = await eps.get("r")!.provider.chat(call());
    expect(res.servedBy?.provider).toBe("fast");
    expect(Date.now() - started).toBeLessThan(1000);
    // The lost leg settles once its abort has run.
    await new Promise((r) => setImmediate(r));
    expect([eps.get("slow")!.requests, eps.get("slow")!.inFlight, eps.get("slow")!.failures]).toEqual([1, 0, 0]);
  });
});

describe("composite capabilities", () => {
  it("takes what every member can, config overriding", () => {
    const { config } = validateConfig({ providers: [mock("a"), { name: "f", type: "fallback", members: ["a"], models: ["m"], capabilities: { tools: true } }] }, "t", {});
    const members = [
      { provider: { capabilities: { vision: true, tools: false, contextWindow: 8000 } } },
      { provider: { capabilities: { vision: false, tools: false, contextWindow: 0 } } },
      { provider: { capabilities: { vision: true, tools: false, contextWindow: 4000 } } },
    ] as never[];
    expect(compositeCapabilities(config.providers[1]!, members)).toEqual({ vision: false, tools: true, imageUrls: false, contextWindow: 4000 });
    expect(membersFailed("f", []).message).toBe("no member can take the call now");
  });
});

describe("member pick context", () => {
  it("takes the request's pick facts from the pool when it has them, else works them out from the request", () => {
    const c = call();
    const facts = { request: c.request, stream: false, promptTokens: 999, maxTokens: 77, affinityKey: "k" };
    const calls = { ...directMemberCalls, pickFacts: (x: UpstreamCall) => (x === c ? facts : undefined) };
    expect(memberPickContext(calls, c, true, 5, Math.random)).toMatchObject({ promptTokens: 999, maxTokens: 77, affinityKey: "k", stream: true, now: 5, attempt: 1 });
    const own = memberPickContext(directMemberCalls, c, false, 0, Math.random);
    expect(own.promptTokens).toBeGreaterThan(0);
    expect(own.promptTokens).not.toBe(999);
    expect(own).toMatchObject({ maxTokens: 256, affinityKey: undefined });
  });
});
