/**
 * Safe stream resume (issue 12, `pool.stream.on_break`): a continuation is spliced only on a
 * provider that can continue an assistant prefill; elsewhere the answer restarts with a typed
 * `restart` chunk (clients discard what they received), or the stream ends with UNAVAILABLE.
 * A continuation that repeats the delivered text has the repeat dropped, or restarts.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { StreamChatResponse } from "../gen/llmpool/v1/llmpool_pb.js";
import { startFakeAnthropic } from "./helpers/fake-anthropic.js";
import { openaiProvider, user } from "./helpers/server.js";
import { harness } from "./helpers/harness.js";

const { cleanup, fakes, serve } = harness();

const ANSWER = ["The ", "quick ", "brown ", "fox ", "jumps."];
const FULL = ANSWER.join("");

async function collect(it: AsyncIterable<StreamChatResponse>): Promise<{ chunks: StreamChatResponse[]; error?: ConnectError }> {
  const chunks: StreamChatResponse[] = [];
  try {
    for await (const c of it) chunks.push(c);
    return { chunks };
  } catch (err) {
    return { chunks, error: ConnectError.from(err) };
  }
}

/** What a client following the protocol shows: deltas, emptied at every restart chunk. */
function shown(chunks: StreamChatResponse[]): string {
  let text = "";
  for (const c of chunks) {
    if (c.restart) text = "";
    text += c.delta;
  }
  return text;
}

/** An Anthropic-type upstream that continues an assistant prefill, as the Messages API documents. */
async function continuingAnthropic(name: string) {
  const f = await startFakeAnthropic(name, ["gpt-4o-mini"]);
  cleanup.push(() => f.close());
  f.behave((rec) => {
    const last = rec.body?.messages?.at(-1);
    const prefix = last?.role === "assistant" ? String(last.content?.[0]?.text ?? "") : "";
    const rest = FULL.slice(prefix.length);
    return { chunks: prefix ? [rest.slice(0, 6), rest.slice(6)] : ANSWER };
  });
  return { fake: f, provider: { name, type: "anthropic", base_url: f.origin, api_key: `sk-ant-${name}-0123456789`, models: ["gpt-4o-mini"] } };
}

describe("pool.stream.on_break", () => {
  it("resume: an OpenAI-type provider (no prefill) restarts the answer with a typed restart chunk", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 2 });
    b!.behave({ chunks: ANSWER, ignorePrefill: true });
    const s = await serve({ pool: { strategy: "round_robin" }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("say it")] }));
    expect(error).toBeUndefined();
    const i = chunks.findIndex((c) => c.restart);
    expect(chunks.slice(0, i).map((c) => c.delta).join("")).toBe("The quick ");
    expect(chunks[i]).toMatchObject({ delta: "", provider: "b", restart: { attempt: 2, discarded: 10, fromProvider: "a", toProvider: "b" } });
    expect(chunks.some((c) => c.failover)).toBe(false);
    expect(chunks.slice(i + 1).map((c) => c.delta).join("")).toBe(FULL);
    expect(shown(chunks)).toBe(FULL);
    // b was not asked to continue a prefill it would ignore.
    expect(b!.chatRequests()[0]!.body.messages.at(-1)).toEqual({ role: "user", content: "say it" });
  });

  it("resume: an Anthropic-type provider continues the delivered text (failover chunk, prefill sent)", async () => {
    const [a] = await fakes("a");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 2 });
    const b = await continuingAnthropic("b");
    const s = await serve({ pool: { strategy: "round_robin" }, providers: [openaiProvider("a", a!.url), b.provider] });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("say it")] }));
    expect(error).toBeUndefined();
    expect(chunks.some((c) => c.restart)).toBe(false);
    expect(chunks.find((c) => c.failover)!.failover).toMatchObject({ attempt: 2, offset: 10, fromProvider: "a", toProvider: "b" });
    expect(chunks.map((c) => c.delta).join("")).toBe(FULL);
    const sent = b.fake.chatRequests()[0]!.body.messages.at(-1);
    expect(sent.role).toBe("assistant");
  });

  it("resume: a continuation that repeats the delivered text has the repeat dropped", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 2 });
    // Claims prefill but answers from the start (a misconfigured capabilities.prefill).
    b!.behave({ chunks: ANSWER, ignorePrefill: true });
    const s = await serve({
      pool: { strategy: "round_robin" },
      providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url, { capabilities: { prefill: true } })],
    });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("say it")] }));
    expect(error).toBeUndefined();
    expect(b!.chatRequests()[0]!.body.messages.at(-1)).toEqual({ role: "assistant", content: "The quick " });
    expect(chunks.some((c) => c.restart)).toBe(false);
    expect(chunks.find((c) => c.failover)!.failover).toMatchObject({ offset: 10, toProvider: "b" });
    expect(chunks.map((c) => c.delta).join("")).toBe(FULL);
  });

  it("resume: a repeat that cannot be reconciled with the delivered text restarts", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 4 }); // "The quick brown fox " delivered
    b!.behave({ chunks: ["The quick ", "brown ", "cat ", "sleeps."], ignorePrefill: true });
    const s = await serve({
      pool: { strategy: "round_robin" },
      providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url, { capabilities: { prefill: true } })],
    });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("say it")] }));
    expect(error).toBeUndefined();
    expect(chunks.find((c) => c.restart)!.restart).toMatchObject({ discarded: 20, fromProvider: "a", toProvider: "b" });
    expect(shown(chunks)).toBe("The quick brown cat sleeps.");
  });

  it("restart: even a provider that could continue starts over", async () => {
    const [a] = await fakes("a");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 2 });
    const b = await continuingAnthropic("b");
    const s = await serve({ pool: { strategy: "round_robin", stream: { on_break: "restart" } }, providers: [openaiProvider("a", a!.url), b.provider] });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("say it")] }));
    expect(error).toBeUndefined();
    expect(chunks.find((c) => c.restart)!.restart).toMatchObject({ attempt: 2, discarded: 10, toProvider: "b" });
    expect(shown(chunks)).toBe(FULL);
    expect(b.fake.chatRequests()[0]!.body.messages.at(-1).role).toBe("user");
  });

  it("restart: a tool call cut mid-stream starts over too (nothing half-sent is kept)", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ["Let me check. "], toolCalls: [{ id: "call_1", name: "lookup", arguments: '{"q":"x"}' }], dropAfterToolCalls: true });
    b!.behave({ chunks: ["Checked."] });
    const s = await serve({ pool: { strategy: "round_robin" }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const tools = [{ name: "lookup", description: "look up", parameters: { type: "object", properties: {} } }];
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("x")], tools }));
    expect(error).toBeUndefined();
    const i = chunks.findIndex((c) => c.restart);
    expect(chunks.slice(0, i).some((c) => c.toolCalls.length > 0)).toBe(true);
    expect(chunks.slice(i).some((c) => c.toolCalls.length > 0)).toBe(false);
    expect(shown(chunks)).toBe("Checked.");
  });

  it("fail: the stream ends with a clear UNAVAILABLE", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ chunks: ANSWER, dropAfterChunks: 2 });
    const s = await serve({ pool: { strategy: "round_robin", stream: { on_break: "fail" } }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const { chunks, error } = await collect(s.grpc.streamChat({ messages: [user("x")] }));
    expect(chunks.map((c) => c.delta).join("")).toBe("The quick ");
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toMatch(/^stream from a failed after 10 characters were delivered: .*\(not resumed: pool.stream.on_break is fail\)$/);
    expect(b!.chatRequests()).toHaveLength(0);
  });

  it("rejects an unknown on_break with the path named", async () => {
    await expect(serve({ pool: { stream: { on_break: "splice" } }, providers: [openaiProvider("a", "http://127.0.0.1:9/v1")] })).rejects.toThrow(/pool\.stream\.on_break/);
  });
});
