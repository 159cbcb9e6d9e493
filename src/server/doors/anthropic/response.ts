/**
 * The service's answers in Anthropic's shapes: a `message`, the named-event SSE stream
 * (message_start, content_block_start/delta/stop, message_delta, message_stop) and errors as
 * `{"type":"error","error":{"type","message"}}` (also the stream's `error` event).
 */
import { Code, type ConnectError } from "@connectrpc/connect";
import { argumentsObject } from "../fields.js";
import type { StreamFormat } from "../stream.js";
import type { ChatAnswer, StreamChunk } from "../service-view.js";

const STOP: Record<string, string> = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", content_filter: "refusal" };
const stopReason = (f: string | undefined, raw: string | undefined) => (raw === "stop_sequence" ? raw : (STOP[f ?? ""] ?? "end_turn"));

function usage(u: ChatAnswer["usage"]) {
  const cached = u?.cachedTokens ?? 0;
  return { input_tokens: (u?.promptTokens ?? 0) - cached, output_tokens: u?.completionTokens ?? 0, cache_read_input_tokens: cached, cache_creation_input_tokens: 0 };
}

export function message(a: ChatAnswer) {
  const content: unknown[] = [];
  if (a.message?.content) content.push({ type: "text", text: a.message.content });
  for (const c of a.message?.toolCalls ?? []) content.push({ type: "tool_use", id: c.id, name: c.name, input: argumentsObject(c.arguments ?? "") });
  return {
    id: a.id,
    type: "message",
    role: "assistant",
    model: a.model,
    content,
    stop_reason: stopReason(a.finishReason, a.rawFinishReason),
    stop_sequence: null,
    usage: usage(a.usage),
  };
}

const sse = (event: string, data: object) => `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;

/**
 * Blocks are numbered as they open: text, then one per tool call (the pool's tool index);
 * a block closes when another opens.
 */
export function anthropicStream(): StreamFormat {
  let index = -1;
  let open: "text" | number | undefined;
  const close = () => {
    if (open === undefined) return "";
    open = undefined;
    return sse("content_block_stop", { index });
  };
  return {
    contentType: "text/event-stream",
    chunk(c: StreamChunk, first: boolean) {
      let out = "";
      if (first) {
        out += sse("message_start", {
          message: { id: c.id || c.requestId || "", type: "message", role: "assistant", model: c.model ?? "", content: [], stop_reason: null, stop_sequence: null, usage: usage(undefined) },
        });
      }
      if (c.delta) {
        if (open !== "text") {
          out += close();
          open = "text";
          out += sse("content_block_start", { index: ++index, content_block: { type: "text", text: "" } });
        }
        out += sse("content_block_delta", { index, delta: { type: "text_delta", text: c.delta } });
      }
      for (const t of c.toolCalls ?? []) {
        const ti = t.index ?? 0;
        if (open !== ti) {
          out += close();
          open = ti;
          out += sse("content_block_start", { index: ++index, content_block: { type: "tool_use", id: t.id ?? "", name: t.name ?? "", input: {} } });
        }
        if (t.argumentsDelta) out += sse("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: t.argumentsDelta } });
      }
      if (c.finishReason) {
        out += close();
        const u = usage(c.usage);
        out += sse("message_delta", { delta: { stop_reason: stopReason(c.finishReason, c.rawFinishReason), stop_sequence: null }, usage: u });
        out += sse("message_stop", {});
      }
      return out;
    },
    end: () => "",
    // The SDK raises an APIError for the `error` event.
    error: (err, status) => `event: error\ndata: ${JSON.stringify(anthropicError(err, status))}\n\n`,
  };
}

const TYPES: Partial<Record<Code, string>> = {
  [Code.InvalidArgument]: "invalid_request_error",
  [Code.FailedPrecondition]: "invalid_request_error",
  [Code.Unauthenticated]: "authentication_error",
  [Code.PermissionDenied]: "permission_error",
  [Code.NotFound]: "not_found_error",
  [Code.ResourceExhausted]: "rate_limit_error",
  [Code.Unavailable]: "overloaded_error",
};

export function anthropicError(err: ConnectError, status: number) {
  const type = status === 413 ? "request_too_large" : (TYPES[err.code] ?? "api_error");
  return { type: "error", error: { type, message: err.rawMessage } };
}
