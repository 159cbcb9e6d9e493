/**
 * The pool's request lifecycle against in-memory providers (no HTTP): plan, choice, attempts,
 * retry and fallback, limits, stream failover, and composites' member calls, on a fake clock.
 */
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { stubProvider } from "../../test/helpers/endpoints.js";
import { validateConfig } from "../config/load.js";
import type { ProviderConfig } from "../config/schema.js";
import { ProviderError } from "../core/errors.js";
import type { CallOutcome, RequestRecord } from "../core/outcome.js";
import type { Provider, StreamEvent } from "../core/provider.js";
import { createFakeClock } from "../util/clock.js";
import type { AttemptRecord } from "./plan.js";
import { Pool } from "./pool.js";
import type { StreamChunkOut } from "./types.js";

const req = (text = "hi") => create(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: text }] });
const ctx = (requestId = "r1") => ({ signal: new AbortController().signal, requestId });
const fail = (provider: string, kind: "server" | "bad_request" = "server") => new ProviderError({ provider, kind, message: `${kind} from ${provider}` });

const pools: Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

/** A pool over `providers` whose adapters are `impls` (in memory), on a fake clock. */
function makePool(providers: Record<string, unknown>[], impls: Record<string, Partial<Provider>>, pool: Record<string, unknown> = {}) {
  const clock = createFakeClock();
  const loaded = validateConfig(
    {
      pool: { strategy: "round_robin", retry_backoff_ms: { initial: 0, max: 0 }, warmup: { enabled: false }, ...pool },
      providers: providers.map((p) => ({ type: "mock", models: ["m"], health_check: { enabled: false }, ...p })),
    },
    "test",
    {},
  );
  const ended: { record: RequestRecord; attempts: [string, CallOutcome][] }[] = [];
  let current: [string, CallOutcome][] = [];
  const p = new Pool(loaded, {
    clock,
    random: () => 0,
    createProvider: (cfg: ProviderConfig) => (impls[cfg.name] ? stubProvider(cfg.name, impls[cfg.name]) : undefined),
    observers: [
      {
        requestStarted: () => void (current = []),
        attemptEnded: (_r, e, o) => void current.push([e.name, o]),
        requestEnded: (r) => void ended.push({ record: r, attempts: current }),
      },
    ],
  });
  pools.push(p);
  return { pool: p, clock, ended };
}

async function collect(it: AsyncIterable<StreamChunkOut>): Promise<StreamChunkOut[]> {
  const out: StreamChunkOut[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe("Pool lifecycle", () => {
  it("falls back to the next provider on a retryable failure; one record says what happened", async () => {
    const calls: string[] = [];
    const { pool, ended } = makePool([{ name: "a" }, { name: "b" }], {
      a: { chat: async () => (calls.push("a"), Promise.reject(fail("a"))) },
      b: { chat: async () => (calls.push("b"), { id: "1", model: "m", content: "from b", toolCalls: [], finishReason: "stop", rawFinishReason: "stop" }) },
    });
    const out = await pool.chat(req(), ctx());
    expect(calls).toEqual(["a", "b"]);
    expect(out).toMatchObject({ provider: "b", attempts: 2, upstreamCalls: 2, providersTried: ["a", "b"] });
    expect(out.result.content).toBe("from b");
    const r = ended[0]!;
    expect(r.record).toMatchObject({ provider: "b", attempts: 2, fallbacks: 1, retries: 0, providersTried: ["a", "b"] });
    expect(r.record.error).toBeUndefined();
    expect(r.attempts.map(([n, o]) => [n, o.ok])).toEqual([["a", false], ["b", true]]);
    expect([pool.endpoint("a")!.failures, pool.endpoint("b")!.successes]).toEqual([1, 1]);
  });

  it("stops at once on a request error no provider can fix, and says so", async () => {
    const calls: string[] = [];
    const { pool, ended } = makePool([{ name: "a" }, { name: "b" }], {
      a: { chat: async () => (calls.push("a"), Promise.reject(fail("a", "bad_request"))) },
      b: { chat: async () => (calls.push("b"), Promise.reject(fail("b"))) },
    });
    await expect(pool.chat(req(), ctx())).rejects.toMatchObject({ code: "invalid_argument" });
    expect(calls).toEqual(["a"]);
    expect(ended[0]!.record.error?.code).toBe("invalid_argument");
  });

  it("keeps a provider within its rpm: the gate sends the rest elsewhere", async () => {
    const calls: string[] = [];
    const ok = (n: string) => async () => (calls.push(n), { id: "1", model: "m", content: n, toolCalls: [], finishReason: "stop" as const, rawFinishReason: "stop" });
    const { pool } = makePool([{ name: "a", rpm: 2 }, { name: "b" }], { a: { chat: ok("a") }, b: { chat: ok("b") } });
    for (let i = 0; i < 8; i++) await pool.chat(req(), ctx(`r${i}`));
    expect(calls.filter((c) => c === "a")).toHaveLength(2);
    expect(calls.filter((c) => c === "b")).toHaveLength(6);
    const a = pool.endpoint("a")!;
    expect(a.rateLimitStatus(pool.clock.now())).toMatchObject({ rpmLimit: 2, rpmRemaining: 0 });
    expect(a.rateLimitStatus(pool.clock.now()).rejections).toBeGreaterThan(0);
  });

  it("a stream that fails after its first token resumes on another provider with a failover chunk", async () => {
    const { pool, ended } = makePool([{ name: "a" }, { name: "b" }], {
      a: {
        async *stream(): AsyncGenerator<StreamEvent> {
          yield { delta: "Hel" };
          throw fail("a");
        },
      },
      b: {
        capabilities: { vision: false, tools: true, contextWindow: 0, prefill: true },
        async *stream(call): AsyncGenerator<StreamEvent> {
          expect(call.prefill).toBe("Hel");
          yield { delta: "lo" };
          yield { finishReason: "stop", usage: { promptTokens: 1, completionTokens: 2, cachedTokens: 0 } };
        },
      },
    });
    const chunks = await collect(pool.stream(req(), ctx()));
    expect(chunks.map((c) => c.delta ?? "").join("")).toBe("Hello");
    const failover = chunks.find((c) => c.failover);
    expect(failover?.failover).toMatchObject({ offset: 3, fromProvider: "a", toProvider: "b" });
    expect(chunks.at(-1)).toMatchObject({ finishReason: "stop", provider: "b" });
    expect(ended[0]!.record).toMatchObject({ kind: "stream", attempts: 2, providersTried: ["a", "b"] });
  });

  it("a composite's member calls go through the pool: the member's gates, counters and observers", async () => {
    const calls: string[] = [];
    const ok = (n: string) => async () => (calls.push(n), { id: "1", model: "m", content: n, toolCalls: [], finishReason: "stop" as const, rawFinishReason: "stop" });
    const { pool, ended } = makePool(
      [
        { name: "a", rpm: 1, models: ["private"] },
        { name: "b", models: ["private"] },
        { name: "chain", type: "fallback", members: ["a", "b"], models: ["m"] },
      ],
      { a: { chat: ok("a") }, b: { chat: ok("b") } },
    );
    const served: string[][] = [];
    for (let i = 0; i < 3; i++) served.push((await pool.chat(req(), ctx(`r${i}`))).servedBy);
    expect(served).toEqual([["chain", "a"], ["chain", "b"], ["chain", "b"]]);
    expect(calls).toEqual(["a", "b", "b"]); // a's rpm 1 holds inside the composite too
    expect([pool.endpoint("a")!.requests, pool.endpoint("b")!.requests, pool.endpoint("chain")!.requests]).toEqual([1, 2, 3]);
    // Observers saw the member call and the composite's own, under the same request.
    expect(ended[0]!.attempts.map(([n]) => n)).toEqual(["a", "chain"]);
    expect(ended[1]!.attempts.map(([n]) => n)).toEqual(["b", "chain"]);
  });
});

/** The pool's own record of a request (src/pool/plan.ts AttemptRecord), as observers got it. */
const recordOf = (e: { record: RequestRecord }) => e.record as AttemptRecord;
const answer = (content: string) => ({ id: "1", model: "m", content, toolCalls: [], finishReason: "stop" as const, rawFinishReason: "stop" });
const toA = (text = "hi") => create(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: text }], routing: { provider: "a" } });

describe("attempt record", () => {
  it("chat: a retry and a fallback are three attempts on a, a, b; tried names a and b once each, in order", async () => {
    const calls: string[] = [];
    const { pool, ended } = makePool(
      [{ name: "a" }, { name: "b" }, { name: "c" }],
      {
        a: { chat: async () => (calls.push("a"), Promise.reject(fail("a"))) },
        b: { chat: async () => (calls.push("b"), answer("b")) },
        c: { chat: async () => (calls.push("c"), answer("c")) },
      },
      { fallback: "retry_same", retries_per_provider: 1 },
    );
    const out = await pool.chat(toA(), ctx());
    expect(calls).toEqual(["a", "a", calls[2]]);
    const next = calls[2]!;
    const r = recordOf(ended[0]!);
    expect(r.attemptEndpoints.map((e) => e.name)).toEqual(["a", "a", next]);
    expect(r.providersTried).toEqual(["a", next]);
    expect(r).toMatchObject({ attempts: 3, upstreamCalls: 3, retries: 1, fallbacks: 1, provider: next });
    expect(r.errors.map((e) => e.provider)).toEqual(["a", "a"]);
    expect(r.spent).toEqual([]);
    expect(out).toMatchObject({ attempts: 3, providersTried: ["a", next] });
  });

  it("chat: a provider that fails with an error retrying cannot fix is spent and never tried again", async () => {
    const calls: string[] = [];
    const { pool, ended } = makePool(
      [{ name: "a" }, { name: "b" }],
      {
        a: { chat: async () => (calls.push("a"), Promise.reject(new ProviderError({ provider: "a", kind: "auth", message: "no" }))) },
        b: { chat: async () => (calls.push("b"), Promise.reject(fail("b"))) },
      },
      { fallback: "retry_same", retries_per_provider: 1, max_retries: 3 },
    );
    await expect(pool.chat(toA(), ctx())).rejects.toBeInstanceOf(Error);
    const r = recordOf(ended[0]!);
    expect(calls[0]).toBe("a");
    expect(calls.slice(1).every((c) => c === "b")).toBe(true); // a (spent) is not called again
    expect(r.spent.map((e) => e.name)).toEqual(["a"]);
    expect(r.providersTried).toEqual(["a", "b"]);
    expect(r.attempts).toBe(calls.length);
    expect(r.attemptEndpoints.map((e) => e.name)).toEqual(calls);
  });

  it("stream failover: each attempt recorded once, in order, with the errors that ended them", async () => {
    const { pool, ended } = makePool([{ name: "a" }, { name: "b" }, { name: "c" }], {
      a: {
        async *stream(): AsyncGenerator<StreamEvent> {
          yield { delta: "He" };
          throw fail("a");
        },
      },
      b: {
        async *stream(): AsyncGenerator<StreamEvent> {
          yield { delta: "l" };
          throw fail("b");
        },
      },
      c: {
        async *stream(): AsyncGenerator<StreamEvent> {
          yield { delta: "lo" };
          yield { finishReason: "stop", usage: { promptTokens: 1, completionTokens: 2, cachedTokens: 0 } };
        },
      },
    }, { fallback: "next_available" });
    const chunks = await collect(pool.stream(toA(), ctx()));
    expect(chunks.map((c) => c.delta ?? "").join("")).toBe("Hello");
    const r = recordOf(ended[0]!);
    expect(r.attemptEndpoints.map((e) => e.name)).toEqual(["a", "b", "c"]);
    expect(r.providersTried).toEqual(["a", "b", "c"]);
    expect(r).toMatchObject({ kind: "stream", attempts: 3, upstreamCalls: 3, retries: 0, fallbacks: 2, provider: "c" });
    expect(r.errors.map((e) => e.provider)).toEqual(["a", "b"]);
  });

  it("a composite retried by the pool is tried once and attempted twice; its member calls are not the pool's attempts", async () => {
    const calls: string[] = [];
    const { pool, ended } = makePool(
      [
        { name: "a", models: ["private"] },
        { name: "b", models: ["private"] },
        { name: "chain", type: "fallback", members: ["a", "b"], models: ["m"] },
      ],
      {
        a: { chat: async () => (calls.push("a"), Promise.reject(fail("a"))) },
        b: { chat: async () => (calls.push("b"), calls.length < 3 ? Promise.reject(fail("b")) : answer("b")) },
      },
      { fallback: "retry_same", retries_per_provider: 1 },
    );
    const out = await pool.chat(req(), ctx());
    expect(out.servedBy).toEqual(["chain", "b"]);
    expect(calls).toEqual(["a", "b", "a", "b"]);
    const r = recordOf(ended[0]!);
    expect(r.attemptEndpoints.map((e) => e.name)).toEqual(["chain", "chain"]);
    expect(r.providersTried).toEqual(["chain"]);
    expect(r).toMatchObject({ attempts: 2, upstreamCalls: 2, retries: 1, fallbacks: 0, provider: "chain" });
    expect(r.errors.map((e) => e.provider)).toEqual(["chain"]);
    // The member calls were seen by the observers under this request all the same.
    expect(ended[0]!.attempts.map(([n]) => n)).toEqual(["a", "b", "chain", "a", "b", "chain"]);
  });
});
