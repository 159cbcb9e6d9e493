/**
 * Gemini -> neutral: `GenerateContentResponse` (unary and each `alt=sse` chunk), error bodies
 * with google.rpc details (RetryInfo `retryDelay`, ErrorInfo `API_KEY_INVALID`).
 */
import { redactAndTruncate } from "../../util/redact.js";
import type { ExtractedError } from "../http.js";
import { syntheticCallId } from "../messages.js";
import { sseEvents } from "../sse.js";
import { firstEvent, parseStreamJson, streamError, truncated, type StreamContext } from "../stream.js";
import { type ChatResult, type FinishReason, type RateLimitInfo, type StreamEvent, type TokenUsage } from "../../core/provider.js";
import { ProviderError, type ProviderErrorKind } from "../../core/errors.js";

interface Part {
  text?: string;
  thought?: boolean;
  functionCall?: { id?: string; name: string; args?: unknown };
}

interface UsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiResponse {
  candidates?: { content?: { role?: string; parts?: Part[] }; finishReason?: string; index?: number }[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: UsageMetadata;
  modelVersion?: string;
  responseId?: string;
  error?: GeminiError;
}

interface GeminiError {
  code?: number;
  message?: string;
  status?: string;
  details?: { "@type"?: string; retryDelay?: string; reason?: string }[];
}

const FINISH: Record<string, FinishReason> = {
  STOP: "stop",
  FINISH_REASON_UNSPECIFIED: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  BLOCKLIST: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  SPII: "content_filter",
  IMAGE_SAFETY: "content_filter",
  LANGUAGE: "error",
  OTHER: "error",
  MALFORMED_FUNCTION_CALL: "error",
  UNEXPECTED_TOOL_CALL: "error",
};

/** A finish reason; STOP with function calls means the model wants them run. */
export function geminiFinish(raw: string | undefined, hasToolCalls: boolean): FinishReason {
  const f = raw ? (FINISH[raw] ?? "stop") : "stop";
  return f === "stop" && hasToolCalls ? "tool_calls" : f;
}

/** Thinking tokens are generated tokens: they count as completion. */
export function geminiUsage(u: UsageMetadata): TokenUsage {
  return {
    promptTokens: u.promptTokenCount ?? 0,
    completionTokens: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0),
    cachedTokens: u.cachedContentTokenCount ?? 0,
  };
}

function blocked(provider: string, reason: string): ProviderError {
  return new ProviderError({ provider, kind: "content_filter", message: `prompt blocked by the upstream (${reason})` });
}

export function geminiResult(provider: string, j: GeminiResponse, model: string, rateLimit?: RateLimitInfo): ChatResult {
  const cand = j.candidates?.[0];
  if (!cand) {
    if (j.promptFeedback?.blockReason) throw blocked(provider, j.promptFeedback.blockReason);
    throw new ProviderError({ provider, kind: "invalid_response", message: "upstream response has no candidates" });
  }
  let content = "";
  const toolCalls: ChatResult["toolCalls"] = [];
  for (const p of cand.content?.parts ?? []) {
    if (p.thought) continue;
    if (p.text) content += p.text;
    if (p.functionCall) {
      toolCalls.push({ id: p.functionCall.id || syntheticCallId(), name: p.functionCall.name, arguments: JSON.stringify(p.functionCall.args ?? {}) });
    }
  }
  return {
    id: j.responseId ?? "",
    model: j.modelVersion ?? model,
    content,
    toolCalls,
    finishReason: geminiFinish(cand.finishReason, toolCalls.length > 0),
    rawFinishReason: cand.finishReason ?? "",
    usage: j.usageMetadata ? geminiUsage(j.usageMetadata) : undefined,
    rateLimit,
  };
}

/** "37s", "1.5s", "0.250s" (protobuf Duration JSON) -> ms. */
export function parseProtoDuration(v: string | undefined): number | undefined {
  const m = v ? /^(\d+(?:\.\d+)?)s$/.exec(v) : null;
  return m ? Number(m[1]) * 1000 : undefined;
}

const STATUS_KINDS: Record<string, ProviderErrorKind> = {
  RESOURCE_EXHAUSTED: "rate_limited",
  UNAUTHENTICATED: "auth",
  PERMISSION_DENIED: "auth",
  // Billing not enabled, or the API is not offered in the caller's region.
  FAILED_PRECONDITION: "auth",
  NOT_FOUND: "not_found",
  UNAVAILABLE: "overloaded",
  INTERNAL: "server",
  DEADLINE_EXCEEDED: "timeout",
};

function classify(e: GeminiError): ExtractedError {
  const message = redactAndTruncate((e.message ?? "").replace(/\s+/g, " "), 300) || "(empty body)";
  const status = e.status ?? "";
  let kind = STATUS_KINDS[status];
  let retryAfterMs: number | undefined;
  for (const d of e.details ?? []) {
    if (d["@type"]?.endsWith("google.rpc.RetryInfo")) retryAfterMs = parseProtoDuration(d.retryDelay);
    // An invalid key is a 400 INVALID_ARGUMENT whose ErrorInfo says so.
    if (d.reason === "API_KEY_INVALID" || d.reason === "API_KEY_SERVICE_BLOCKED") kind = "auth";
  }
  if (!kind && status === "INVALID_ARGUMENT") {
    kind = /API key not valid/i.test(message)
      ? "auth"
      : /exceeds the maximum number of tokens|token count|too long/i.test(message)
        ? "context_length"
        : "bad_request";
  }
  return { message, code: status, kind, retryAfterMs };
}

/** `{"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED","details":[...]}}` */
export function geminiErrorOf(body: string): ExtractedError {
  try {
    const j = JSON.parse(body) as { error?: GeminiError } | { error?: GeminiError }[];
    // Some Google front ends wrap the error in an array.
    const e = (Array.isArray(j) ? j[0]?.error : j.error) ?? {};
    return classify(e);
  } catch {
    return { message: redactAndTruncate(body, 300) || "(empty body)", code: "" };
  }
}

/** `streamGenerateContent?alt=sse`: each `data:` is a GenerateContentResponse chunk. */
export async function* geminiStream(body: AsyncIterable<Buffer | Uint8Array>, ctx: StreamContext, model: string): AsyncGenerator<StreamEvent> {
  let first = true;
  let finished = false;
  let toolIndex = 0;
  let sawToolCalls = false;
  for await (const ev of sseEvents(body, ctx)) {
    if (ev.data.length === 0) continue;
    const j = parseStreamJson<GeminiResponse>(ctx.provider, ev.data);
    if (j.error) throw streamError(ctx.provider, classify(j.error));
    const out: StreamEvent = {};
    if (first) {
      first = false;
      out.id = j.responseId;
      out.model = j.modelVersion ?? model;
      firstEvent(ctx, out);
    }
    const cand = j.candidates?.[0];
    if (!cand && j.promptFeedback?.blockReason) throw blocked(ctx.provider, j.promptFeedback.blockReason);
    let text = "";
    for (const p of cand?.content?.parts ?? []) {
      if (p.thought) continue;
      if (p.text) text += p.text;
      if (p.functionCall) {
        sawToolCalls = true;
        (out.toolCalls ??= []).push({
          index: toolIndex++,
          id: p.functionCall.id || syntheticCallId(),
          name: p.functionCall.name,
          argumentsDelta: JSON.stringify(p.functionCall.args ?? {}),
        });
      }
    }
    if (text) out.delta = text;
    if (cand?.finishReason) {
      finished = true;
      out.finishReason = geminiFinish(cand.finishReason, sawToolCalls);
      out.rawFinishReason = cand.finishReason;
    }
    if (j.usageMetadata) out.usage = geminiUsage(j.usageMetadata);
    yield out;
  }
  if (!finished) throw truncated(ctx.provider);
}
