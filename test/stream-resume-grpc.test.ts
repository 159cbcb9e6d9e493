/**
 * Streams that break or stall after their first token: resumed on another provider with the
 * delivered text as an assistant prefill and a typed failover chunk, or ended with a clear
 * error where resuming is off or impossible.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { StreamChatResponse } from "../gen/llmpool/v1/llmpool_pb.js";
import { openaiProvider as plainProvider, user } from "./helpers/server.js";
import { harness } from "./helpers/harness.js";

const { fakes, serve } = harness();

/** These fakes continue an assistant prefill, so they say so (pool.stream.on_break: resume splices only then). */
const openaiProvider = (name: string, url: string) => plainProvider(name, url, { capabilities: { prefill: true } });

/** Read a whole stream: its chunks and how it ended. */
async function collect(it: AsyncIterable<StreamChatResponse>): Promise<{ chunks: StreamChatResponse[]; error?: ConnectError }> {
  const chunks: StreamChatResponse[] = [];
  try {
    for await (const c of it) chunks.push(c);
    return { chunks };
  } catch (err) {
    return { chunks, error: ConnectError.from(err) };
  }
}

const ANSWER = ["The ", "quick ", "brown ", "fox ", "jumps."];

describe("stream resume", () => {
  it("continues a stream that breaks mid-answer on another provider, with a failover chunk", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 2 });
    b!.behave({ chunks: ANSWER });
    const s = await serve({ pool: { strategy: "round_robin" }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("say it")] }));
    expect(error).toBeUndefined();
    expect(chunks.map((c) => c.delta).join("")).toBe(ANSWER.join(""));
    expect(chunks[0]!.provider).toBe("a");
    const i = chunks.findIndex((c) => c.failover);
    expect(chunks.slice(0, i).map((c) => c.delta).join("")).toBe("The quick ");
    expect(chunks[i]).toMatchObject({ delta: "", provider: "b", failover: { attempt: 2, offset: 10, fromProvider: "a", toProvider: "b" } });
    expect(chunks[i]!.failover!.reason).toMatch(/^connect: |^stream: /);
    const last = chunks.at(-1)!;
    expect(last).toMatchObject({ finishReason: "stop", provider: "b", attempts: 2 });
    // b was asked to continue the answer: the delivered text came as an assistant prefill.
    const sent = b!.chatRequests()[0]!.body.messages;
    expect(sent.at(-1)).toEqual({ role: "assistant", content: "The quick " });
    expect(sent[0]).toEqual({ role: "user", content: "say it" });
    const stats = await s.grpc.getPoolStats({ providers: ["a"] });
    expect(stats.providers[0]!.inFlight).toBe(0);
  });

  it("detects a stall (no chunk for stall_factor × the mean gap) and resumes elsewhere", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ANSWER, chunkDelayMs: 5, stallAfterChunks: 3 });
    b!.behave({ chunks: ANSWER });
    const s = await serve({
      pool: { strategy: "round_robin", stream: { stall_factor: 10, stall_min_ms: 100, stall_max_ms: 400 } },
      providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)],
    });
    const started = Date.now();
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("say it")] }));
    expect(error).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(chunks.map((c) => c.delta).join("")).toBe(ANSWER.join(""));
    const f = chunks.find((c) => c.failover)!.failover!;
    expect(f).toMatchObject({ offset: "The quick brown ".length, fromProvider: "a", toProvider: "b" });
    expect(f.reason).toMatch(/^timeout: stream stalled: no chunk for \d+ ms \(threshold \d+ ms\)$/);
    await a!.waitForAbort(); // the stalled upstream call was released
  });

  it("a failing continuation is skipped transparently: one failover chunk, from the provider that broke", async () => {
    const [a, b, c] = await fakes("a", "b", "c");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 1 });
    b!.behave({ status: 503 });
    c!.behave({ chunks: ANSWER });
    const s = await serve({
      pool: { strategy: "round_robin", fallback: "next_available" },
      providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url), openaiProvider("c", c!.url)],
    });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("x")] }));
    expect(error).toBeUndefined();
    expect(chunks.map((x) => x.delta).join("")).toBe(ANSWER.join(""));
    const failovers = chunks.filter((x) => x.failover).map((x) => x.failover);
    expect(failovers).toEqual([expect.objectContaining({ attempt: 3, offset: 4, fromProvider: "a", toProvider: "c" })]);
    expect(chunks.at(-1)).toMatchObject({ provider: "c", attempts: 3 });
  });

  it("never splices onto a tool call in flight: the answer restarts elsewhere", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ["Let me check. "], toolCalls: [{ id: "call_1", name: "lookup", arguments: '{"q":"x"}' }], dropAfterToolCalls: true });
    const s = await serve({ pool: { strategy: "round_robin" }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const tools = [{ name: "lookup", description: "look up", parameters: { type: "object", properties: {} } }];
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("x")], tools }));
    expect(error).toBeUndefined();
    expect(chunks.some((c) => c.toolCalls.length > 0)).toBe(true);
    expect(chunks.find((c) => c.restart)!.restart).toMatchObject({ discarded: 14, fromProvider: "a", toProvider: "b" });
    // No prefill: b answers from the start.
    expect(b!.chatRequests()[0]!.body.messages.at(-1)).toEqual({ role: "user", content: "x" });
  });

  it("with resume off the stream ends with an error that says what was delivered, never silently", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 2 });
    const s = await serve({ pool: { strategy: "round_robin", stream: { resume: false } }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("x")] }));
    expect(chunks.map((c) => c.delta).join("")).toBe("The quick ");
    expect(chunks.some((c) => c.finishReason)).toBe(false);
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toMatch(/^stream from a failed after 10 characters were delivered: .*\(not resumed: stream resume is off \(pool.stream.resume\)\)$/);
  });

  it("when no provider can continue, says so", async () => {
    const [a] = await fakes("a");
    a!.behave((_r, n) => (n === 1 ? { chunks: ANSWER, dropAfterChunks: 2 } : { status: 503 }));
    const s = await serve({ pool: { max_retries: 2, retry_backoff_ms: { initial: 1, max: 5 } }, providers: [openaiProvider("a", a!.url)] });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("x")] }));
    expect(chunks.map((c) => c.delta).join("")).toBe("The quick ");
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toMatch(/^stream from a failed after 10 characters were delivered: .*\(not resumed: no attempts left \(pool.max_retries\)\)$/);
  });
});
