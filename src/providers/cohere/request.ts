/**
 * Neutral ChatRequest -> Cohere v2 `/v2/chat` request body. Roles map one to one; `top_p` is
 * `p`, `stop` is `stop_sequences`; images are `image_url` content parts (http(s) or data:
 * URLs); tool choice "function" is emulated by offering only that tool with `REQUIRED`.
 */
import type { ChatRequest, Message } from "../../../gen/llmpool/v1/llmpool_pb.js";
import { imageToDataUrl } from "../common.js";
import { messageText } from "../messages.js";

type Json = Record<string, unknown>;

function content(m: Message): unknown {
  if (!m.parts.some((p) => p.part.case === "image")) return messageText(m);
  const parts: Json[] = [];
  if (m.content) parts.push({ type: "text", text: m.content });
  for (const p of m.parts) {
    if (p.part.case === "text") parts.push({ type: "text", text: p.part.value });
    else if (p.part.case === "image") {
      const image_url: Json = { url: imageToDataUrl(p.part.value) };
      if (p.part.value.detail) image_url.detail = p.part.value.detail;
      parts.push({ type: "image_url", image_url });
    }
  }
  return parts;
}

export function cohereMessage(m: Message): Json {
  if (m.role === "tool") return { role: "tool", tool_call_id: m.toolCallId, content: messageText(m) };
  if (m.role === "assistant" && m.toolCalls.length > 0) {
    const out: Json = {
      role: "assistant",
      tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments || "{}" } })),
    };
    const text = messageText(m);
    if (text) out.tool_plan = text;
    return out;
  }
  return { role: m.role, content: content(m) };
}

export function buildCohereBody(req: ChatRequest, model: string, stream: boolean, prefill?: string): string {
  const messages = req.messages.map(cohereMessage);
  if (prefill) messages.push({ role: "assistant", content: prefill });
  const body: Json = { model, messages, stream };
  if (req.temperature !== undefined) body.temperature = Math.min(req.temperature, 1);
  if (req.topP !== undefined) body.p = Math.min(req.topP, 0.99);
  if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
  if (req.stop.length > 0) body.stop_sequences = req.stop;
  if (req.seed !== undefined) body.seed = Number(req.seed);
  if (req.presencePenalty !== undefined) body.presence_penalty = Math.max(0, Math.min(1, req.presencePenalty));
  if (req.frequencyPenalty !== undefined) body.frequency_penalty = Math.max(0, Math.min(1, req.frequencyPenalty));
  const rf = req.responseFormat;
  if (rf?.type === "json_object") body.response_format = { type: "json_object" };
  else if (rf?.type === "json_schema" && rf.schema) body.response_format = { type: "json_object", json_schema: rf.schema };
  if (req.tools.length > 0) {
    const tc = req.toolChoice;
    const offered = tc?.mode === "function" ? req.tools.filter((t) => t.name === tc.functionName) : req.tools;
    body.tools = offered.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters ?? { type: "object", properties: {} },
      },
    }));
    if (tc?.mode === "required" || tc?.mode === "function") body.tool_choice = "REQUIRED";
    else if (tc?.mode === "none") body.tool_choice = "NONE";
  }
  return JSON.stringify(body);
}
