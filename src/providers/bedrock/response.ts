/**
 * Bedrock Converse -> neutral: the Converse response, ConverseStream's event-stream messages
 * (messageStart, contentBlockStart/Delta/Stop, messageStop, metadata, and exception frames)
 * and error responses named by `x-amzn-errortype`.
 */
import { redactAndTruncate } from "../../util/redact.js";
import { header, type ExtractedError, type ResponseData } from "../http.js";
import type { TrimmedPrefill } from "../messages.js";
import { firstEvent, parseStreamJson, streamError, truncated, type StreamContext } from "../stream.js";
import type { ChatResult, FinishReason, RateLimitInfo, StreamEvent, TokenUsage } from "../../core/provider.js";
import type { ProviderErrorKind } from "../../core/errors.js";
import { eventStreamMessages } from "./event-stream.js";

interface BedrockUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

type Block = { text?: string; toolUse?: { toolUseId: string; name: string; input?: unknown }; reasoningContent?: unknown };

export interface ConverseResponse {
  output?: { message?: { role?: string; content?: Block[] } };
  stopReason?: string;
  usage?: BedrockUsage;
}

const FINISH: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  guardrail_intervened: "content_filter",
  content_filtered: "content_filter",
};

export const bedrockFinish = (raw: string | undefined): FinishReason => (raw ? (FINISH[raw] ?? "stop") : "stop");

/** inputTokens excludes cache reads and writes; the neutral count includes them. */
export function bedrockUsage(u: BedrockUsage): TokenUsage {
  const cached = u.cacheReadInputTokens ?? 0;
  return {
    promptTokens: (u.inputTokens ?? 0) + cached + (u.cacheWriteInputTokens ?? 0),
    completionTokens: u.outputTokens ?? 0,
    cachedTokens: cached,
  };
}

export function bedrockResult(j: ConverseResponse, id: string, model: string, rateLimit?: RateLimitInfo, prefill?: TrimmedPrefill): ChatResult {
  let content = "";
  const toolCalls: ChatResult["toolCalls"] = [];
  for (const b of j.output?.message?.content ?? []) {
    if (b.text) content += b.text;
    if (b.toolUse) toolCalls.push({ id: b.toolUse.toolUseId, name: b.toolUse.name, arguments: JSON.stringify(b.toolUse.input ?? {}) });
  }
  if (prefill) content = prefill.continue(content);
  return {
    id,
    model,
    content,
    toolCalls,
    finishReason: bedrockFinish(j.stopReason),
    rawFinishReason: j.stopReason ?? "",
    usage: j.usage ? bedrockUsage(j.usage) : undefined,
    rateLimit,
  };
}

const ERROR_KINDS: Record<string, ProviderErrorKind> = {
  ThrottlingException: "rate_limited",
  ServiceQuotaExceededException: "rate_limited",
  ServiceUnavailableException: "overloaded",
  ModelNotReadyException: "overloaded",
  InternalServerException: "server",
  ModelErrorException: "server",
  ModelStreamErrorException: "stream",
  ModelTimeoutException: "timeout",
  AccessDeniedException: "auth",
  UnrecognizedClientException: "auth",
  InvalidSignatureException: "auth",
  IncompleteSignatureException: "auth",
  ExpiredTokenException: "auth",
  ResourceNotFoundException: "not_found",
  ValidationException: "bad_request",
};

/** "ValidationException:http://internal.amazon.com/coral/..." or "throttlingException" -> kind. */
export function bedrockErrorKind(type: string, message: string): ProviderErrorKind | undefined {
  const name = type.split(":")[0]!;
  const kind = ERROR_KINDS[name] ?? ERROR_KINDS[name.charAt(0).toUpperCase() + name.slice(1)];
  if (kind === "bad_request") {
    if (/too long|too many (input )?tokens|context (length|window)/i.test(message)) return "context_length";
    if (/content (policy|filter)|guardrail/i.test(message)) return "content_filter";
  }
  return kind;
}

const clean = (m: string) => redactAndTruncate(m.replace(/\s+/g, " ").trim(), 300) || "(empty body)";

/** Error body `{"message": "..."}` (sometimes `Message`), type in the `x-amzn-errortype` header. */
export function bedrockErrorOf(body: string, res: Pick<ResponseData, "headers">): ExtractedError {
  let message = body;
  let type = header(res, "x-amzn-errortype") ?? "";
  try {
    const j = JSON.parse(body) as { message?: string; Message?: string; __type?: string };
    message = j.message ?? j.Message ?? body;
    if (!type && j.__type) type = j.__type.split("#").pop()!;
  } catch {
    // plain text
  }
  message = clean(message);
  const code = type.split(":")[0]!;
  return { message, code, kind: bedrockErrorKind(code, message) };
}

interface StreamPayload {
  contentBlockIndex?: number;
  start?: { toolUse?: { toolUseId: string; name: string } };
  delta?: { text?: string; toolUse?: { input?: string } };
  stopReason?: string;
  usage?: BedrockUsage;
  message?: string;
  Message?: string;
}

/**
 * ConverseStream: `:event-type` names each event; `:message-type: exception` frames carry an
 * error (`:exception-type`) and end the stream. Complete once messageStop and metadata arrive
 * (metadata may be absent: then the body's end after messageStop is accepted).
 */
export async function* bedrockStream(
  body: AsyncIterable<Uint8Array>,
  ctx: StreamContext & { id: string },
  model: string,
  prefill?: TrimmedPrefill,
): AsyncGenerator<StreamEvent> {
  const toolIndex = new Map<number, number>();
  let stopped = false;
  let first = true;
  for await (const msg of eventStreamMessages(body, ctx)) {
    const messageType = String(msg.headers[":message-type"] ?? "event");
    if (messageType === "exception" || messageType === "error") {
      const type = String(msg.headers[":exception-type"] ?? msg.headers[":error-code"] ?? "");
      let message = String(msg.headers[":error-message"] ?? "");
      if (msg.payload.length > 0) {
        const j = parseStreamJson<StreamPayload>(ctx.provider, msg.payload.toString("utf8"));
        message = j.message ?? j.Message ?? message;
      }
      message = clean(message);
      throw streamError(ctx.provider, { message, code: type, kind: bedrockErrorKind(type, message) });
    }
    const type = String(msg.headers[":event-type"] ?? "");
    const j = msg.payload.length > 0 ? parseStreamJson<StreamPayload>(ctx.provider, msg.payload.toString("utf8")) : {};
    if (first) {
      first = false;
      yield firstEvent(ctx, { id: ctx.id, model });
    }
    switch (type) {
      case "contentBlockStart": {
        const t = j.start?.toolUse;
        if (t) {
          const index = toolIndex.size;
          toolIndex.set(j.contentBlockIndex ?? 0, index);
          yield { toolCalls: [{ index, id: t.toolUseId, name: t.name }] };
        }
        break;
      }
      case "contentBlockDelta": {
        const d = j.delta;
        if (d?.text) yield { delta: prefill ? prefill.continue(d.text) : d.text };
        else if (d?.toolUse?.input) {
          const index = toolIndex.get(j.contentBlockIndex ?? 0);
          if (index !== undefined) yield { toolCalls: [{ index, argumentsDelta: d.toolUse.input }] };
        }
        break;
      }
      case "messageStop":
        stopped = true;
        if (j.stopReason) yield { finishReason: bedrockFinish(j.stopReason), rawFinishReason: j.stopReason };
        break;
      case "metadata":
        if (j.usage) yield { usage: bedrockUsage(j.usage) };
        if (stopped) return;
        break;
      default:
        break; // messageStart, contentBlockStop
    }
  }
  if (!stopped) throw truncated(ctx.provider);
}
