/**
 * OpenAI chat-completions stream -> neutral events (also Azure and every compatible server):
 * `data:` JSON chunks until `data: [DONE]`, usage in the last chunk with include_usage, and
 * `data: {"error": ...}` as an in-stream error.
 */
import { normalizeOpenAIFinish, usageOf } from "../common.js";
import { classifyStatus, extractErrorMessage } from "../http.js";
import { sseEvents } from "../sse.js";
import { firstEvent, parseStreamJson, truncated, type StreamContext } from "../stream.js";
import { type StreamEvent, type ToolCallDeltaOut } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";

interface StreamChunk {
  id?: string;
  model?: string;
  choices?: {
    delta?: { content?: string | null; tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] };
    finish_reason?: string | null;
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } } | null;
  error?: { message?: string; type?: string; code?: string | number };
}

/** An `error` object in a 2xx body or in a stream chunk. */
export function openaiBodyError(
  provider: string,
  e: { message?: string; type?: string; code?: string | number },
  status: number,
  inStream = false,
): ProviderError {
  const code = String(e.code ?? e.type ?? "");
  const { message } = extractErrorMessage(JSON.stringify({ error: e }));
  let kind = classifyStatus(status || 500, message, code);
  if (inStream && (kind === "server" || kind === "bad_request")) kind = "stream";
  return new ProviderError({
    provider,
    kind,
    message: `${inStream ? "error event in stream: " : ""}${code ? `${code}: ` : ""}${message}`,
  });
}

export async function* openaiStream(body: AsyncIterable<Buffer | Uint8Array>, ctx: StreamContext): AsyncGenerator<StreamEvent> {
  let first = true;
  let sawFinish = false;
  for await (const ev of sseEvents(body, ctx)) {
    const data = ev.data;
    if (data === "[DONE]") return;
    if (data.length === 0) continue;
    const j = parseStreamJson<StreamChunk>(ctx.provider, data);
    if (j.error || ev.event === "error") throw openaiBodyError(ctx.provider, j.error ?? {}, 0, true);
    const out: StreamEvent = {};
    if (first) {
      first = false;
      if (j.id) out.id = j.id;
      if (j.model) out.model = j.model;
      firstEvent(ctx, out);
    }
    const choice = j.choices?.[0];
    if (choice) {
      const d = choice.delta;
      if (d?.content) out.delta = d.content;
      if (d?.tool_calls && d.tool_calls.length > 0) {
        out.toolCalls = d.tool_calls.map((t): ToolCallDeltaOut => {
          const td: ToolCallDeltaOut = { index: t.index ?? 0 };
          if (t.id) td.id = t.id;
          if (t.function?.name) td.name = t.function.name;
          if (t.function?.arguments) td.argumentsDelta = t.function.arguments;
          return td;
        });
      }
      if (choice.finish_reason) {
        sawFinish = true;
        out.finishReason = normalizeOpenAIFinish(choice.finish_reason);
        out.rawFinishReason = choice.finish_reason;
      }
    }
    if (j.usage) out.usage = usageOf(j.usage.prompt_tokens, j.usage.completion_tokens, j.usage.prompt_tokens_details?.cached_tokens);
    yield out;
  }
  // Some compatible servers end without [DONE] once the finish reason was sent.
  if (!sawFinish) throw truncated(ctx.provider);
}
