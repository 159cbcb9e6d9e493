/**
 * Neutral ChatRequest -> OpenAI chat-completions request body.
 */
import type { ChatRequest, Message } from "../../../gen/llmpool/v1/llmpool_pb.js";
import { imageToDataUrl } from "../common.js";

export interface OpenAIRequestOptions {
  /** Send `max_completion_tokens` (OpenAI proper) instead of `max_tokens` (compatible servers). */
  maxCompletionTokens: boolean;
  stream: boolean;
  prefill?: string;
  /** Ask the server to continue the prefill (vLLM's `continue_final_message`). */
  continueFinalMessage?: boolean;
}

type Json = Record<string, unknown>;

function mapContent(m: Message): unknown {
  if (m.parts.length === 0) return m.content;
  const parts: Json[] = [];
  if (m.content) parts.push({ type: "text", text: m.content });
  for (const p of m.parts) {
    if (p.part.case === "text") parts.push({ type: "text", text: p.part.value });
    else if (p.part.case === "image") {
      const img = p.part.value;
      const image_url: Json = { url: imageToDataUrl(img) };
      if (img.detail) image_url.detail = img.detail;
      parts.push({ type: "image_url", image_url });
    }
  }
  return parts;
}

export function mapMessage(m: Message): Json {
  const out: Json = { role: m.role };
  if (m.role === "assistant" && m.toolCalls.length > 0) {
    out.content = m.content || null;
    out.tool_calls = m.toolCalls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: c.arguments || "{}" },
    }));
  } else {
    out.content = mapContent(m);
  }
  if (m.role === "tool") out.tool_call_id = m.toolCallId;
  if (m.name) out.name = m.name;
  return out;
}

export function buildOpenAIBody(req: ChatRequest, model: string, opts: OpenAIRequestOptions): string {
  const messages = req.messages.map(mapMessage);
  if (opts.prefill) messages.push({ role: "assistant", content: opts.prefill });
  const body: Json = { model, messages };
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.maxTokens !== undefined) {
    body[opts.maxCompletionTokens ? "max_completion_tokens" : "max_tokens"] = req.maxTokens;
  }
  if (req.stop.length > 0) body.stop = req.stop;
  if (req.seed !== undefined) body.seed = Number(req.seed);
  if (req.presencePenalty !== undefined) body.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) body.frequency_penalty = req.frequencyPenalty;
  if (req.user) body.user = req.user;
  if (req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters ?? { type: "object", properties: {} },
      },
    }));
    const tc = req.toolChoice;
    if (tc && tc.mode) {
      body.tool_choice =
        tc.mode === "function" ? { type: "function", function: { name: tc.functionName } } : tc.mode;
    }
  }
  const rf = req.responseFormat;
  if (rf && rf.type && rf.type !== "text") {
    body.response_format =
      rf.type === "json_schema"
        ? {
            type: "json_schema",
            json_schema: { name: rf.name || "response", schema: rf.schema ?? {}, strict: rf.strict },
          }
        : { type: "json_object" };
  }
  if (opts.prefill && opts.continueFinalMessage) {
    // vLLM rejects continue_final_message together with its default add_generation_prompt.
    body.continue_final_message = true;
    body.add_generation_prompt = false;
  }
  if (opts.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return JSON.stringify(body);
}
