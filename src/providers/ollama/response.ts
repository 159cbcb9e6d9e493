/**
 * Ollama `/api/chat` -> neutral: the final JSON object (unary) or NDJSON lines (stream), the
 * last one with `done: true`, `done_reason` and token counts; `{"error": "..."}` bodies and
 * lines.
 */
import { redactAndTruncate } from "../../util/redact.js";
import type { ExtractedError } from "../http.js";
import { syntheticCallId } from "../messages.js";
import { ndjsonLines } from "../sse.js";
import { firstEvent, parseStreamJson, streamError, truncated, type StreamContext } from "../stream.js";
import type { ChatResult, FinishReason, RateLimitInfo, StreamEvent, TokenUsage, ToolCallOut } from "../../core/provider.js";

interface OllamaToolCall {
  id?: string;
  function: { name: string; arguments?: unknown; index?: number };
}

export interface OllamaChatResponse {
  model?: string;
  created_at?: string;
  message?: { role?: string; content?: string; thinking?: string; tool_calls?: OllamaToolCall[] };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

export function ollamaFinish(raw: string | undefined, hasToolCalls: boolean): FinishReason {
  if (raw === "length") return "length";
  return hasToolCalls ? "tool_calls" : "stop";
}

const usageOf = (j: OllamaChatResponse): TokenUsage | undefined =>
  j.prompt_eval_count === undefined && j.eval_count === undefined
    ? undefined
    : { promptTokens: j.prompt_eval_count ?? 0, completionTokens: j.eval_count ?? 0, cachedTokens: 0 };

const toolCall = (t: OllamaToolCall): ToolCallOut => ({
  id: t.id || syntheticCallId(),
  name: t.function.name,
  arguments: typeof t.function.arguments === "string" ? t.function.arguments : JSON.stringify(t.function.arguments ?? {}),
});

export function ollamaResult(j: OllamaChatResponse, model: string, rateLimit?: RateLimitInfo): ChatResult {
  const toolCalls = (j.message?.tool_calls ?? []).map(toolCall);
  return {
    id: "",
    model: j.model ?? model,
    content: j.message?.content ?? "",
    toolCalls,
    finishReason: ollamaFinish(j.done_reason, toolCalls.length > 0),
    rawFinishReason: j.done_reason ?? "",
    usage: usageOf(j),
    rateLimit,
  };
}

/** `{"error":"model \"x\" not found, try pulling it first"}` */
export function ollamaErrorOf(body: string): ExtractedError {
  let message = body;
  try {
    const j = JSON.parse(body) as { error?: unknown };
    if (typeof j.error === "string") message = j.error;
  } catch {
    // plain text
  }
  message = redactAndTruncate(message.replace(/\s+/g, " ").trim(), 300) || "(empty body)";
  return { message, code: "", kind: /not found/i.test(message) ? "not_found" : undefined };
}

/** NDJSON chunks; the stream must end with a `done: true` line. */
export async function* ollamaStream(body: AsyncIterable<Buffer | Uint8Array>, ctx: StreamContext, model: string): AsyncGenerator<StreamEvent> {
  let first = true;
  let toolIndex = 0;
  for await (const line of ndjsonLines(body, ctx)) {
    const j = parseStreamJson<OllamaChatResponse>(ctx.provider, line);
    if (j.error !== undefined) throw streamError(ctx.provider, ollamaErrorOf(JSON.stringify({ error: j.error })));
    const out: StreamEvent = {};
    if (first) {
      first = false;
      out.model = j.model ?? model;
      firstEvent(ctx, out);
    }
    const text = j.message?.content;
    if (text) out.delta = text;
    const calls = j.message?.tool_calls;
    if (calls && calls.length > 0) {
      out.toolCalls = calls.map((t) => {
        const c = toolCall(t);
        return { index: toolIndex++, id: c.id, name: c.name, argumentsDelta: c.arguments };
      });
    }
    if (j.done) {
      out.finishReason = ollamaFinish(j.done_reason, toolIndex > 0);
      out.rawFinishReason = j.done_reason ?? "";
      const u = usageOf(j);
      if (u) out.usage = u;
      yield out;
      return;
    }
    yield out;
  }
  throw truncated(ctx.provider);
}
