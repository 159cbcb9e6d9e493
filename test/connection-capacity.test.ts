/**
 * No hidden queue (issue 12): calls beyond a provider's connection capacity (`connections`,
 * or `max_concurrency` when smaller) wait in llmpool's own queue, visible as queue_depth and
 * shed when it is full, instead of inside the HTTP client where the wait would count against
 * timeout_ms and trip the breaker of a healthy provider.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProviderState } from "../gen/llmpool/v1/llmpool_pb.js";
import { openaiProvider, user, type TestServer } from "./helpers/server.js";
import { harness } from "./helpers/harness.js";

const { fakes, serve } = harness();

async function drain(s: TestServer, i: number): Promise<{ text: string; error?: ConnectError }> {
  let text = "";
  try {
    for await (const c of s.grpc.streamChat({ messages: [user(`q${i}`)] })) text += c.delta;
    return { text };
  } catch (err) {
    return { text, error: ConnectError.from(err) };
  }
}

async function until(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 5));
}

describe("connection capacity", () => {
  it("streams beyond `connections` wait in the pool's queue: no timeout_ms failures, breaker closed", async () => {
    const N = 100;
    const CONNECTIONS = 5;
    const [a] = await fakes("a");
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // The first wave answers its first chunk, then holds the connection until released.
    a!.behave((_r, n) => (n <= CONNECTIONS ? { chunks: ["one ", "two"], afterFirstChunk: held } : { chunks: ["one ", "two"], delayMs: 2 }));
    const s = await serve({
      pool: { queue: { max_size: N, timeout_ms: 60_000 } },
      providers: [openaiProvider("a", a!.url, { connections: CONNECTIONS, timeout_ms: 2500, circuit_breaker: { failure_threshold: 3 } })],
    });
    const calls = Array.from({ length: N }, (_, i) => drain(s, i));
    // Everyone beyond the connections waits where GetPoolStats can see it.
    await until(async () => (await s.grpc.getPoolStats({})).totals!.queueDepth === N - CONNECTIONS);
    await a!.waitForRequests(CONNECTIONS);
    expect(a!.chatRequests()).toHaveLength(CONNECTIONS);
    // Held past timeout_ms: a wait for a connection would have timed the queued calls out.
    await new Promise((r) => setTimeout(r, 2800));
    release();
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.error).map((r) => r.error!.rawMessage)).toEqual([]);
    expect(results.every((r) => r.text === "one two")).toBe(true);
    const stats = await s.grpc.getPoolStats({});
    const p = stats.providers[0]!;
    expect(p.state).toBe(ProviderState.HEALTHY);
    expect(p.failures).toBe(0n);
    expect(p.successes).toBe(BigInt(N));
    expect(stats.totals!.queueDepth).toBe(0);
  });

  it("max_concurrency below connections is the cap; a full queue sheds with RESOURCE_EXHAUSTED", async () => {
    const [a] = await fakes("a");
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    a!.behave({ chunks: ["x ", "y"], afterFirstChunk: held });
    const s = await serve({
      pool: { queue: { max_size: 3, timeout_ms: 60_000 } },
      providers: [openaiProvider("a", a!.url, { connections: 8, max_concurrency: 2 })],
    });
    const calls = Array.from({ length: 6 }, (_, i) => drain(s, i));
    await a!.waitForRequests(2);
    await until(async () => (await s.grpc.getPoolStats({})).totals!.queueDepth === 3);
    expect(a!.chatRequests()).toHaveLength(2);
    release();
    const results = await Promise.all(calls);
    const shed = results.filter((r) => r.error);
    expect(shed.map((r) => r.error!.code)).toEqual([Code.ResourceExhausted]);
    expect(shed[0]!.error!.rawMessage).toMatch(/queue/);
    expect(results.filter((r) => r.text === "x y")).toHaveLength(5);
  });
});
