/**
 * The service's answers in OpenAI's shapes: chat.completion, chat.completion.chunk SSE events
 * (with the usage chunk of `stream_options.include_usage` and `data: [DONE]`), and errors as
 * `{"error":{"message","type","param","code"}}`.
 */
import { Code, type ConnectError } from "@connectrpc/connect";
import type { StreamFormat } from "../stream.js";
import type { ChatAnswer, StreamChunk } from "../service-view.js";

const FINISH: Record<string, string> = { stop: "stop", length: "length", tool_calls: "tool_calls", content_filter: "content_filter" };
const finish = (f: string | undefined) => FINISH[f ?? ""] ?? "stop";
const now = () => Math.floor(Date.now() / 1000);

function usage(u: ChatAnswer["usage"]) {
  return {
    prompt_tokens: u?.promptTokens ?? 0,
    completion_tokens: u?.completionTokens ?? 0,
    total_tokens: u?.totalTokens ?? 0,
    prompt_tokens_details: { cached_tokens: u?.cachedTokens ?? 0 },
  };
}

export function completion(a: ChatAnswer) {
  const calls = a.message?.toolCalls ?? [];
  const content = a.message?.content ?? "";
  return {
    id: a.id,
    object: "chat.completion",
    created: now(),
    model: a.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: content || calls.length === 0 ? content : null,
          refusal: null,
          ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })) } : {}),
        },
        finish_reason: finish(a.finishReason),
        logprobs: null,
      },
    ],
    usage: usage(a.usage),
    system_fingerprint: null,
  };
}

/** SSE chunks; `includeUsage` adds the final usage-only chunk. */
export function openaiStream(includeUsage: boolean): StreamFormat {
  let id = "";
  let model = "";
  const created = now();
  const event = (choices: unknown[], extra?: object) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices, ...extra })}\n\n`;
  return {
    contentType: "text/event-stream",
    chunk(c: StreamChunk, first: boolean) {
      if (first) {
        id = c.id || c.requestId || "";
        model = c.model ?? "";
      }
      let out = "";
      const delta: Record<string, unknown> = first ? { role: "assistant", content: c.delta ?? "" } : {};
      if (!first && c.delta) delta.content = c.delta;
      if (c.toolCalls && c.toolCalls.length > 0) {
        delta.tool_calls = c.toolCalls.map((t) => ({
          index: t.index ?? 0,
          ...(t.id ? { id: t.id, type: "function" } : {}),
          function: { ...(t.name ? { name: t.name } : {}), arguments: t.argumentsDelta ?? "" },
        }));
      }
      if (first || delta.content !== undefined || delta.tool_calls) out += event([{ index: 0, delta, finish_reason: null, logprobs: null }]);
      if (c.finishReason) {
        out += event([{ index: 0, delta: {}, finish_reason: finish(c.finishReason), logprobs: null }]);
        if (includeUsage) out += event([], { usage: usage(c.usage) });
      }
      return out;
    },
    end: () => "data: [DONE]\n\n",
    // The SDKs raise an APIError for an event whose data has `error`.
    error: (err, status) => `data: ${JSON.stringify(openaiError(err, status))}\n\n`,
  };
}

const TYPES: Partial<Record<Code, [type: string, code: string | null]>> = {
  [Code.InvalidArgument]: ["invalid_request_error", null],
  [Code.FailedPrecondition]: ["invalid_request_error", null],
  [Code.Unauthenticated]: ["authentication_error", "invalid_api_key"],
  [Code.PermissionDenied]: ["permission_error", null],
  [Code.NotFound]: ["invalid_request_error", "model_not_found"],
  [Code.ResourceExhausted]: ["rate_limit_error", "rate_limit_exceeded"],
  [Code.Unavailable]: ["server_error", "service_unavailable"],
  [Code.DeadlineExceeded]: ["server_error", "timeout"],
};

/** The field an INVALID_ARGUMENT message names first (`messages[0].role: ...`). */
export function paramOf(err: ConnectError): string | null {
  if (err.code !== Code.InvalidArgument) return null;
  return /^([A-Za-z_][\w.[\]]*): /.exec(err.rawMessage)?.[1] ?? null;
}

export function openaiError(err: ConnectError, status: number) {
  const [type, code] = TYPES[err.code] ?? (status === 413 ? ["invalid_request_error", "request_too_large"] : ["server_error", null]);
  return { error: { message: err.rawMessage, type, param: paramOf(err), code } };
}
