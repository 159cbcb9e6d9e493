/**
 * The response cache in front of the LLMPool service: Chat and StreamChat look the request up
 * first and, on a hit, answer without the pool (no upstream, no rate limit, no budget: a hit is
 * free, `cached: true`, cost 0); on a miss the service answers and a complete answer is stored
 * in the background. StreamChat serves a hit as a replayed stream, and a streamed answer is
 * stored as the same ChatResponse a unary call would have produced, so either RPC can serve
 * the other's entry. `metadata.cache: "skip"` bypasses the cache both ways.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { LLMPool, type ChatRequest, type ChatResponse, type ChatResponseSchema, type StreamChatResponseSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { ResponseCache } from "../cache/response-cache.js";
import type { CallHeaders } from "./service.js";

type Service = ServiceImpl<typeof LLMPool>;
type ChatOut = MessageInitShape<typeof ChatResponseSchema>;
type ChunkOut = MessageInitShape<typeof StreamChatResponseSchema>;

/** Characters per replayed text chunk: a stream that looks like one, without one chunk per token. */
const REPLAY_CHUNK = 256;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(ctx: CallHeaders): string {
  const given = ctx.requestHeader.get("x-request-id");
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  ctx.responseHeader.set("x-request-id", id);
  ctx.responseHeader.set("x-llmpool-cache", "hit");
  return id;
}

function hitResponse(hit: ChatResponse, requestId: string, startedAt: number): ChatOut {
  return { ...hit, requestId, cached: true, costUsd: 0, attempts: 0, upstreamCalls: 0, providersTried: [], latencyMs: performance.now() - startedAt };
}

function* replay(hit: ChatResponse, requestId: string, startedAt: number): Generator<ChunkOut> {
  const text = hit.message?.content ?? "";
  const first: ChunkOut = { delta: text.slice(0, REPLAY_CHUNK), id: hit.id, model: hit.model, provider: hit.provider, requestId };
  const calls = hit.message?.toolCalls ?? [];
  if (calls.length > 0 && text.length <= REPLAY_CHUNK) first.toolCalls = calls.map((c, index) => ({ index, id: c.id, name: c.name, argumentsDelta: c.arguments }));
  yield first;
  for (let i = REPLAY_CHUNK; i < text.length; i += REPLAY_CHUNK) {
    const chunk: ChunkOut = { delta: text.slice(i, i + REPLAY_CHUNK) };
    if (i + REPLAY_CHUNK >= text.length && calls.length > 0) chunk.toolCalls = calls.map((c, index) => ({ index, id: c.id, name: c.name, argumentsDelta: c.arguments }));
    yield chunk;
  }
  const latencyMs = performance.now() - startedAt;
  yield {
    finishReason: hit.finishReason,
    rawFinishReason: hit.rawFinishReason,
    usage: hit.usage,
    provider: hit.provider,
    attempts: 0,
    upstreamCalls: 0,
    costUsd: 0,
    ttftMs: latencyMs,
    latencyMs,
    cached: true,
  };
}

/** Collects a streamed answer into the ChatResponse a unary call would have returned. */
function collector(maxChars: number) {
  let text = "";
  let tooBig = false;
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  const out: ChatOut = {};
  return {
    add(c: ChunkOut) {
      if (c.id) out.id = c.id;
      if (c.model) out.model = c.model;
      if (c.provider) out.provider = c.provider;
      if (c.delta) {
        text += c.delta;
        if (text.length > maxChars) tooBig = true;
      }
      for (const t of c.toolCalls ?? []) {
        const i = t.index ?? 0;
        let call = calls.get(i);
        if (!call) calls.set(i, (call = { id: "", name: "", arguments: "" }));
        if (t.id) call.id = t.id;
        if (t.name) call.name = t.name;
        call.arguments += t.argumentsDelta ?? "";
      }
      if (c.finishReason) {
        out.finishReason = c.finishReason;
        out.rawFinishReason = c.rawFinishReason;
        out.usage = c.usage;
      }
    },
    result(): ChatOut | undefined {
      if (tooBig || !out.finishReason) return undefined;
      const toolCalls = [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
      return { ...out, message: { role: "assistant", content: text, toolCalls } };
    },
  };
}

/**
 * `admit` runs on a hit before it is served: request validation and the caller's policy (virtual
 * keys' tenant, models and rpm), so a cached answer reaches only a caller who may ask for it.
 */
export function withResponseCache(inner: Service, cache: () => ResponseCache | undefined, admit: (req: ChatRequest, ctx: CallHeaders) => Promise<void>): Service {
  const cachedChat = async (c: ResponseCache, key: string, req: ChatRequest, ctx: Parameters<Service["chat"]>[1]) => {
    const startedAt = performance.now();
    const hit = await c.lookup(key, "chat");
    if (hit) {
      await admit(req, ctx as CallHeaders);
      return hitResponse(hit, requestIdOf(ctx as CallHeaders), startedAt);
    }
    const res = await inner.chat(req, ctx);
    c.save(key, res);
    return res;
  };
  return {
    ...inner,
    // Not async: without a cache (or for a request it does not keep) the call is the inner
    // service's own promise, with no extra promise and turns of the microtask queue.
    chat(req, ctx) {
      const c = cache();
      const key = c?.keyFor(req);
      if (!c || key === undefined) return inner.chat(req, ctx);
      return cachedChat(c, key, req, ctx);
    },
    async *streamChat(req, ctx) {
      const c = cache();
      const key = c?.keyFor(req);
      if (!c || key === undefined) return yield* inner.streamChat(req, ctx);
      const startedAt = performance.now();
      const hit = await c.lookup(key, "stream");
      if (hit) {
        await admit(req, ctx as CallHeaders);
        return yield* replay(hit, requestIdOf(ctx as CallHeaders), startedAt);
      }
      const collect = collector(c.maxEntryBytes);
      for await (const chunk of inner.streamChat(req, ctx)) {
        collect.add(chunk);
        yield chunk;
      }
      const res = collect.result();
      if (res) c.save(key, res);
    },
  };
}
