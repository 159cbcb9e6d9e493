/**
 * Cohere v2 -> neutral: the chat response (`message.content[]`, `message.tool_calls`,
 * `usage.billed_units`), its SSE stream (message-start, content-delta, tool-call-start /
 * -delta / -end, message-end) and `{"message": ...}` error bodies.
 */
import { redactAndTruncate } from "../../util/redact.js";
import { header, parseOpenAIRateLimit, type ExtractedError, type ResponseData } from "../http.js";
import { sseEvents } from "../sse.js";
import { firstEvent, parseStreamJson, streamError, truncated, type StreamContext } from "../stream.js";
import type { ChatResult, FinishReason, RateLimitInfo, StreamEvent, TokenUsage } from "../../core/provider.js";

interface CohereUsage {
  billed_units?: { input_tokens?: number; output_tokens?: number };
  tokens?: { input_tokens?: number; output_tokens?: number };
  cached_tokens?: number;
}

interface CohereToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

export interface CohereResponse {
  id?: string;
  finish_reason?: string;
  message?: { role?: string; content?: { type: string; text?: string }[]; tool_calls?: CohereToolCall[]; tool_plan?: string };
  usage?: CohereUsage;
}

const FINISH: Record<string, FinishReason> = {
  COMPLETE: "stop",
  STOP_SEQUENCE: "stop",
  MAX_TOKENS: "length",
  TOOL_CALL: "tool_calls",
  ERROR: "error",
  TIMEOUT: "error",
};

export const cohereFinish = (raw: string | undefined): FinishReason => (raw ? (FINISH[raw] ?? "stop") : "stop");

/** Billed units are what the key is charged for; raw token counts are the fallback. */
export function cohereUsage(u: CohereUsage): TokenUsage {
  const b = u.billed_units ?? {};
  const t = u.tokens ?? {};
  return {
    promptTokens: b.input_tokens ?? t.input_tokens ?? 0,
    completionTokens: b.output_tokens ?? t.output_tokens ?? 0,
    cachedTokens: u.cached_tokens ?? 0,
  };
}

export function cohereResult(j: CohereResponse, model: string, rateLimit?: RateLimitInfo): ChatResult {
  let content = "";
  for (const c of j.message?.content ?? []) if (c.type === "text" && c.text) content += c.text;
  return {
    id: j.id ?? "",
    model,
    content,
    toolCalls: (j.message?.tool_calls ?? []).map((c) => ({
      id: c.id ?? "",
      name: c.function?.name ?? "",
      arguments: c.function?.arguments ?? "{}",
    })),
    finishReason: cohereFinish(j.finish_reason),
    rawFinishReason: j.finish_reason ?? "",
    usage: j.usage ? cohereUsage(j.usage) : undefined,
    rateLimit,
  };
}

/** `{"id":"...","message":"invalid api token"}` */
export function cohereErrorOf(body: string): ExtractedError {
  let message = body;
  try {
    const j = JSON.parse(body) as { message?: unknown };
    if (typeof j.message === "string") message = j.message;
  } catch {
    // plain text
  }
  return { message: redactAndTruncate(message.replace(/\s+/g, " ").trim(), 300) || "(empty body)", code: "" };
}

const num = (v: string | undefined) => (v === undefined || !Number.isFinite(Number(v)) ? undefined : Number(v));

/** Trial keys report a per-minute call budget; production keys may send `x-ratelimit-*`. */
export function parseCohereRateLimit(res: Pick<ResponseData, "headers">): RateLimitInfo | undefined {
  const limit = num(header(res, "x-trial-endpoint-call-limit"));
  const remaining = num(header(res, "x-trial-endpoint-call-remaining"));
  if (limit === undefined && remaining === undefined) return parseOpenAIRateLimit(res);
  return { limitRequests: limit, remainingRequests: remaining };
}

interface StreamPayload {
  type?: string;
  id?: string;
  index?: number;
  delta?: {
    message?: {
      content?: { type?: string; text?: string };
      tool_calls?: CohereToolCall;
      tool_plan?: string;
    };
    finish_reason?: string;
    usage?: CohereUsage;
    error?: string;
  };
  message?: string;
}

/** Cohere's v2 SSE stream; ends with message-end, anything else is a truncation. */
export async function* cohereStream(body: AsyncIterable<Buffer | Uint8Array>, ctx: StreamContext, model: string): AsyncGenerator<StreamEvent> {
  let toolIndex = -1;
  for await (const ev of sseEvents(body, ctx)) {
    if (ev.data.length === 0) continue;
    if (ev.data === "[DONE]") break; // the SDK's terminator; message-end should have come first
    const j = parseStreamJson<StreamPayload>(ctx.provider, ev.data);
    const type = j.type ?? ev.event;
    switch (type) {
      case "message-start":
        yield firstEvent(ctx, { id: j.id, model });
        break;
      case "content-delta": {
        const text = j.delta?.message?.content?.text;
        if (text) yield { delta: text };
        break;
      }
      case "tool-call-start": {
        const c = j.delta?.message?.tool_calls;
        toolIndex++;
        yield {
          toolCalls: [{ index: toolIndex, id: c?.id, name: c?.function?.name, argumentsDelta: c?.function?.arguments || undefined }],
        };
        break;
      }
      case "tool-call-delta": {
        const args = j.delta?.message?.tool_calls?.function?.arguments;
        if (args && toolIndex >= 0) yield { toolCalls: [{ index: toolIndex, argumentsDelta: args }] };
        break;
      }
      case "message-end": {
        const d = j.delta ?? {};
        if (d.finish_reason === "ERROR" && d.error) throw streamError(ctx.provider, cohereErrorOf(JSON.stringify({ message: d.error })));
        const out: StreamEvent = {};
        if (d.finish_reason) {
          out.finishReason = cohereFinish(d.finish_reason);
          out.rawFinishReason = d.finish_reason;
        }
        if (d.usage) out.usage = cohereUsage(d.usage);
        yield out;
        return;
      }
      case "error":
        throw streamError(ctx.provider, cohereErrorOf(ev.data));
      default:
        break; // content-start/-end, tool-plan-delta, tool-call-end, citations, debug
    }
  }
  throw truncated(ctx.provider);
}
