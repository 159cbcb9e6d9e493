/**
 * Anthropic Messages API -> neutral: the response body, the named-event SSE stream
 * (message_start, content_block_start/delta/stop, message_delta, message_stop, ping, error),
 * error bodies and the `anthropic-ratelimit-*` headers.
 */
import { header, type ExtractedError, type ResponseData } from "../http.js";
import { redactAndTruncate } from "../../util/redact.js";
import { sseEvents } from "../sse.js";
import { firstEvent, parseStreamJson, streamError, truncated, type StreamContext } from "../stream.js";
import type { TrimmedPrefill } from "../messages.js";
import { type ChatResult, type FinishReason, type RateLimitInfo, type StreamEvent, type TokenUsage } from "../../core/provider.js";
import { type ProviderErrorKind } from "../../core/errors.js";

interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

type ContentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: string; [k: string]: unknown };

export interface AnthropicMessage {
  id: string;
  type: "message";
  model: string;
  content: ContentBlock[];
  stop_reason: string | null;
  stop_sequence?: string | null;
  usage?: AnthropicUsage;
}

const FINISH: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export const anthropicFinish = (raw: string | null | undefined): FinishReason => (raw ? (FINISH[raw] ?? "stop") : "stop");

/** Input tokens exclude cache reads and writes; the neutral count includes them. */
function usageOf(u: AnthropicUsage, output = u.output_tokens ?? 0): TokenUsage {
  const cached = u.cache_read_input_tokens ?? 0;
  return {
    promptTokens: (u.input_tokens ?? 0) + cached + (u.cache_creation_input_tokens ?? 0),
    completionTokens: output,
    cachedTokens: cached,
  };
}

export function anthropicResult(j: AnthropicMessage, model: string, rateLimit: RateLimitInfo | undefined, prefill?: TrimmedPrefill): ChatResult {
  let content = "";
  const toolCalls: ChatResult["toolCalls"] = [];
  for (const b of j.content ?? []) {
    if (b.type === "text") content += (b as { text: string }).text;
    else if (b.type === "tool_use") {
      const t = b as { id: string; name: string; input: unknown };
      toolCalls.push({ id: t.id, name: t.name, arguments: JSON.stringify(t.input ?? {}) });
    }
  }
  if (prefill) content = prefill.continue(content);
  return {
    id: j.id ?? "",
    model: j.model ?? model,
    content,
    toolCalls,
    finishReason: anthropicFinish(j.stop_reason),
    rawFinishReason: j.stop_reason ?? "",
    usage: j.usage ? usageOf(j.usage) : undefined,
    rateLimit,
  };
}

const ERROR_KINDS: Record<string, ProviderErrorKind> = {
  invalid_request_error: "bad_request",
  authentication_error: "auth",
  permission_error: "auth",
  billing_error: "auth",
  not_found_error: "not_found",
  request_too_large: "context_length",
  rate_limit_error: "rate_limited",
  api_error: "server",
  overloaded_error: "overloaded",
  timeout_error: "timeout",
};

/** `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` */
export function anthropicErrorOf(body: string): ExtractedError {
  try {
    const j = JSON.parse(body) as { error?: { type?: string; message?: string } };
    const type = j.error?.type ?? "";
    const message = redactAndTruncate((j.error?.message ?? body).replace(/\s+/g, " "), 300) || "(empty body)";
    let kind = ERROR_KINDS[type];
    // "prompt is too long" arrives as a plain invalid_request_error.
    if (kind === "bad_request" && /prompt is too long|context window|too many tokens/i.test(message)) kind = "context_length";
    return { message, code: type, kind };
  } catch {
    return { message: redactAndTruncate(body, 300) || "(empty body)", code: "" };
  }
}

const num = (v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/** RFC 3339 reset time -> milliseconds from now. */
const untilMs = (v: string | undefined, now: number) => {
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
};

/** `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`. */
export function parseAnthropicRateLimit(res: Pick<ResponseData, "headers">, now = Date.now()): RateLimitInfo | undefined {
  const h = (k: string) => header(res, `anthropic-ratelimit-${k}`);
  const info: RateLimitInfo = {
    limitRequests: num(h("requests-limit")),
    remainingRequests: num(h("requests-remaining")),
    resetRequestsMs: untilMs(h("requests-reset"), now),
    limitTokens: num(h("tokens-limit")),
    remainingTokens: num(h("tokens-remaining")),
    resetTokensMs: untilMs(h("tokens-reset"), now),
  };
  return info.limitRequests === undefined && info.remainingRequests === undefined && info.limitTokens === undefined && info.remainingTokens === undefined
    ? undefined
    : info;
}

interface StreamPayload {
  type: string;
  message?: AnthropicMessage;
  index?: number;
  content_block?: ContentBlock;
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

/** The named-event stream -> neutral events. Ends with an error unless message_stop arrived. */
export async function* anthropicStream(
  body: AsyncIterable<Buffer | Uint8Array>,
  ctx: StreamContext,
  prefill?: TrimmedPrefill,
): AsyncGenerator<StreamEvent> {
  // Content-block index -> position among this response's tool calls.
  const toolIndex = new Map<number, number>();
  let usage: AnthropicUsage = {};
  let stopped = false;
  for await (const ev of sseEvents(body, ctx)) {
    const type = ev.event;
    if (type === "ping") continue;
    if (ev.data.length === 0) continue;
    const j = parseStreamJson<StreamPayload>(ctx.provider, ev.data);
    switch (j.type ?? type) {
      case "message_start": {
        const m = j.message;
        if (m?.usage) usage = { ...m.usage };
        yield firstEvent(ctx, { id: m?.id, model: m?.model });
        break;
      }
      case "content_block_start": {
        const b = j.content_block;
        if (b?.type === "tool_use") {
          const index = toolIndex.size;
          toolIndex.set(j.index ?? 0, index);
          const t = b as { id: string; name: string };
          yield { toolCalls: [{ index, id: t.id, name: t.name }] };
        } else if (b?.type === "text" && (b as { text: string }).text) {
          const text = (b as { text: string }).text;
          yield { delta: prefill ? prefill.continue(text) : text };
        }
        break;
      }
      case "content_block_delta": {
        const d = j.delta;
        if (d?.type === "text_delta" && d.text) {
          yield { delta: prefill ? prefill.continue(d.text) : d.text };
        } else if (d?.type === "input_json_delta" && d.partial_json) {
          const index = toolIndex.get(j.index ?? 0);
          if (index !== undefined) yield { toolCalls: [{ index, argumentsDelta: d.partial_json }] };
        }
        break;
      }
      case "message_delta": {
        if (j.usage) usage = { ...usage, ...stripNulls(j.usage) };
        const raw = j.delta?.stop_reason;
        yield {
          ...(raw ? { finishReason: anthropicFinish(raw), rawFinishReason: raw } : {}),
          usage: usageOf(usage),
        };
        break;
      }
      case "message_stop":
        stopped = true;
        break;
      case "error":
        throw streamError(ctx.provider, anthropicErrorOf(ev.data));
      default:
        break; // content_block_stop, thinking and future events
    }
    if (stopped) return;
  }
  throw truncated(ctx.provider);
}

function stripNulls(u: AnthropicUsage): AnthropicUsage {
  const out: AnthropicUsage = {};
  for (const [k, v] of Object.entries(u)) if (v !== null && v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
