/**
 * The response cache through the real server: a repeated request is answered without the
 * upstream (`cached: true`, cost 0), for Chat and StreamChat alike, counted in /metrics;
 * `metadata.cache: "skip"` bypasses it; off by default; in a real redis-server two replicas
 * share answers, and with Redis gone every call is still answered.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";
import { harness } from "./helpers/harness.js";
import { startRedis } from "./helpers/redis.js";
import { openaiProvider, user, type TestServer } from "./helpers/server.js";

const h = harness();

async function upstream(): Promise<FakeUpstream> {
  const f = await startFakeOpenAI("up");
  h.cleanup.push(() => f.close());
  f.behave({ reply: "the answer is forty-two", usage: { prompt_tokens: 1000, completion_tokens: 100 } });
  return f;
}

const config = (f: FakeUpstream, cache: Record<string, unknown> = { enabled: true }) => ({
  cache,
  providers: [openaiProvider("up", f.url, { pricing: { input_per_1m: 1, output_per_1m: 10 } })],
});

const ask = (s: TestServer, o: Record<string, unknown> = {}) => s.grpc.chat({ model: "gpt-4o-mini", messages: [user("what is the answer?")], ...o });

async function metric(s: TestServer, line: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const m = text.split("\n").find((l) => l.startsWith(line + " "));
  return m ? Number(m.slice(line.length + 1)) : NaN;
}

async function streamAll(s: TestServer, o: Record<string, unknown> = {}) {
  const chunks = [];
  for await (const c of s.grpc.streamChat({ model: "gpt-4o-mini", messages: [user("what is the answer?")], ...o })) chunks.push(c);
  return { chunks, text: chunks.map((c) => c.delta).join(""), last: chunks[chunks.length - 1]! };
}

describe("response cache", () => {
  it("answers a repeated Chat from the cache: cached, free, counted; skip bypasses it", async () => {
    const f = await upstream();
    const s = await h.serve(config(f));
    const first = await ask(s, { metadata: { tenant: "a" } });
    expect(first.cached).toBe(false);
    expect(first.costUsd).toBeCloseTo(0.002, 12);
    // Same request from another tenant: a hit, no upstream call.
    const second = await ask(s, { metadata: { tenant: "b" } });
    expect(f.chatRequests()).toHaveLength(1);
    expect(second).toMatchObject({ cached: true, costUsd: 0, attempts: 0, upstreamCalls: 0, provider: "up", finishReason: "stop" });
    expect(second.message?.content).toBe(first.message?.content);
    expect(second.usage?.promptTokens).toBe(1000);
    expect(second.requestId).not.toBe(first.requestId);
    // A different request misses; "skip" goes to the upstream even for a cached request.
    await ask(s, { temperature: 0.2 });
    const skipped = await ask(s, { metadata: { cache: "skip" } });
    expect(skipped.cached).toBe(false);
    expect(f.chatRequests()).toHaveLength(3);
    await expect(ask(s, { metadata: { cache: "skp" } })).rejects.toThrow(/metadata\.cache: must be "skip" or absent/);
    expect(await metric(s, 'llmpool_cache_hits_total{kind="chat"}')).toBe(1);
    expect(await metric(s, 'llmpool_cache_misses_total{kind="chat"}')).toBe(2);
    expect(await metric(s, "llmpool_cache_entries")).toBe(2);
    // The hit cost nothing: spend is three priced calls (first, temperature 0.2, skipped).
    const stats = await s.grpc.getPoolStats({});
    expect(stats.totals?.costUsd).toBeCloseTo(0.006, 12);
  });

  it("serves StreamChat hits as a replayed stream, and a streamed answer serves Chat", async () => {
    const f = await upstream();
    const s = await h.serve(config(f));
    const live = await streamAll(s);
    expect(live.last.cached).toBe(false);
    expect(live.text).toBe("the answer is forty-two");
    const replay = await streamAll(s);
    expect(f.chatRequests()).toHaveLength(1);
    expect(replay.text).toBe(live.text);
    expect(replay.chunks[0]).toMatchObject({ provider: "up" });
    expect(replay.last).toMatchObject({ cached: true, costUsd: 0, finishReason: "stop", attempts: 0 });
    expect(replay.last.usage?.completionTokens).toBe(100);
    const unary = await ask(s);
    expect(unary).toMatchObject({ cached: true, costUsd: 0 });
    expect(unary.message?.content).toBe(live.text);
    expect(f.chatRequests()).toHaveLength(1);
    expect(await metric(s, 'llmpool_cache_hits_total{kind="stream"}')).toBe(1);
  });

  it("a hit still passes the caller's checks: a virtual key limited to other models is refused", async () => {
    const f = await upstream();
    const OPEN = "gateway-open-key-0123456789";
    const NARROW = "gateway-narrow-key-0123456789";
    const s = await h.serve({
      ...config(f),
      server: { auth: { keys: [{ key: OPEN, tenant: "a" }, { key: NARROW, tenant: "b", models: ["o1*"] }] } },
    });
    const auth = (k: string) => ({ headers: { authorization: `Bearer ${k}` } });
    expect((await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("what is the answer?")] }, auth(OPEN))).cached).toBe(false);
    expect((await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("what is the answer?")] }, auth(OPEN))).cached).toBe(true);
    await expect(s.grpc.chat({ model: "gpt-4o-mini", messages: [user("what is the answer?")] }, auth(NARROW))).rejects.toThrow(/gpt-4o-mini/);
    await expect(s.grpc.chat({ model: "gpt-4o-mini", messages: [user("what is the answer?")] })).rejects.toThrow(/unauthenticated/i);
    expect(f.chatRequests()).toHaveLength(1);
  });

  it("is off by default, and does not store answers over max_entry_bytes", async () => {
    const f = await upstream();
    const off = await h.serve(config(f, {}));
    await ask(off);
    expect((await ask(off)).cached).toBe(false);
    expect(f.chatRequests()).toHaveLength(2);
    expect(await metric(off, 'llmpool_cache_hits_total{kind="chat"}')).toBe(0);

    const small = await h.serve(config(f, { enabled: true, max_entry_bytes: 16 }));
    await ask(small);
    expect((await ask(small)).cached).toBe(false);
    expect(await metric(small, "llmpool_cache_too_large_total")).toBe(2);
  });

  it("rejects bad cache config naming the key", async () => {
    const f = await upstream();
    await expect(h.serve(config(f, { enabled: true, ttl_s: 0 }))).rejects.toThrow(/cache\.ttl_s/);
    await expect(h.serve(config(f, { enabled: "yes" }))).rejects.toThrow(/cache\.enabled/);
    await expect(h.serve(config(f, { enabled: true, size: 3 }))).rejects.toThrow(/cache.*size/);
  });

  it("with state.backend redis, replicas share answers on the state's connection", async () => {
    const redis = await startRedis();
    h.cleanup.push(() => redis.close());
    const f = await upstream();
    const raw = { ...config(f), state: { backend: "redis", url: redis.url, key_prefix: "shared1" } };
    const [a, b] = [await h.serve(raw), await h.serve(raw)];
    expect((await ask(a)).cached).toBe(false);
    const probe = new Redis(redis.url);
    h.cleanup.push(async () => void probe.disconnect());
    await expect.poll(async () => (await probe.keys("shared1:cache:*")).length).toBe(1);
    expect(await ask(b)).toMatchObject({ cached: true, costUsd: 0 });
    expect(f.chatRequests()).toHaveLength(1);
    expect(await metric(b, "llmpool_cache_entries")).toBe(0); // not in b's memory: in Redis
  });

  it("in Redis: replicas share answers; with Redis gone every call is still answered", async () => {
    const redis = await startRedis();
    h.cleanup.push(() => redis.close());
    // Default client settings (offline queue on): a lookup while Redis is down waits for the
    // cache's timeout_ms, not for the reconnect.
    const client = new Redis({ port: redis.port, host: "127.0.0.1" });
    client.on("error", () => undefined);
    h.cleanup.push(async () => void client.disconnect());
    const f = await upstream();
    const a = await h.serve(config(f, { enabled: true, timeout_ms: 200 }), { cacheRedis: client, redisKeyPrefix: "t1" });
    const b = await h.serve(config(f, { enabled: true, timeout_ms: 200 }), { cacheRedis: client, redisKeyPrefix: "t1" });
    expect((await ask(a)).cached).toBe(false);
    await expect.poll(async () => (await client.keys("t1:cache:*")).length).toBe(1);
    const ttl = await client.pttl((await client.keys("t1:cache:*"))[0]!);
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    const fromB = await ask(b);
    expect(fromB).toMatchObject({ cached: true, costUsd: 0 });
    expect((await streamAll(b)).last.cached).toBe(true);
    expect(f.chatRequests()).toHaveLength(1);

    await redis.kill();
    const t0 = performance.now();
    const during = await Promise.all([ask(a), ask(b), streamAll(a)]);
    expect(during.map((r) => ("last" in r ? r.last.cached : r.cached))).toEqual([false, false, false]);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(f.chatRequests()).toHaveLength(4);
  });
});
