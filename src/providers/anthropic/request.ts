/**
 * Neutral ChatRequest -> Anthropic Messages API request body.
 *
 * System messages are lifted into `system`, tool results become `tool_result` blocks in a
 * user turn, consecutive turns of one role are merged (the API requires alternation), and
 * `max_tokens`, which the API requires, falls back to the provider's `default_max_tokens`.
 */
import type { ChatRequest } from "../../../gen/llmpool/v1/llmpool_pb.js";
import { imageSource, messageText, parseArguments, systemTexts, type TrimmedPrefill } from "../messages.js";

type Json = Record<string, unknown>;
type Turn = { role: "user" | "assistant"; content: Json[] };

export interface AnthropicRequestOptions {
  stream: boolean;
  defaultMaxTokens: number;
  prefill?: TrimmedPrefill;
}

function push(turns: Turn[], role: Turn["role"], blocks: Json[]): void {
  if (blocks.length === 0) return;
  const last = turns[turns.length - 1];
  if (last && last.role === role) last.content.push(...blocks);
  else turns.push({ role, content: blocks });
}

export function anthropicMessages(req: ChatRequest): Turn[] {
  const turns: Turn[] = [];
  for (const m of req.messages) {
    if (m.role === "system") continue;
    if (m.role === "tool") {
      push(turns, "user", [{ type: "tool_result", tool_use_id: m.toolCallId, content: messageText(m) }]);
      continue;
    }
    const blocks: Json[] = [];
    if (m.content) blocks.push({ type: "text", text: m.content });
    for (const p of m.parts) {
      if (p.part.case === "text") {
        if (p.part.value) blocks.push({ type: "text", text: p.part.value });
      } else if (p.part.case === "image") {
        const src = imageSource(p.part.value);
        blocks.push({
          type: "image",
          source:
            src.kind === "bytes"
              ? { type: "base64", media_type: src.mimeType, data: src.base64 }
              : { type: "url", url: src.url },
        });
      }
    }
    if (m.role === "assistant") {
      for (const c of m.toolCalls) {
        blocks.push({ type: "tool_use", id: c.id, name: c.name, input: parseArguments(c.arguments) });
      }
    }
    push(turns, m.role === "assistant" ? "assistant" : "user", blocks);
  }
  return turns;
}

export function buildAnthropicBody(req: ChatRequest, model: string, opts: AnthropicRequestOptions): string {
  const messages = anthropicMessages(req);
  if (opts.prefill) push(messages, "assistant", [{ type: "text", text: opts.prefill.text }]);
  const body: Json = { model, max_tokens: req.maxTokens ?? opts.defaultMaxTokens, messages };
  const system = systemTexts(req).filter((t) => t.length > 0);
  if (system.length > 0) body.system = system.map((text) => ({ type: "text", text }));
  if (req.temperature !== undefined) body.temperature = Math.min(req.temperature, 1);
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop.length > 0) body.stop_sequences = req.stop;
  if (req.user) body.metadata = { user_id: req.user };
  if (req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      input_schema: t.parameters ?? { type: "object", properties: {} },
    }));
    const mode = req.toolChoice?.mode;
    if (mode === "required") body.tool_choice = { type: "any" };
    else if (mode === "function") body.tool_choice = { type: "tool", name: req.toolChoice!.functionName };
    else if (mode === "none") body.tool_choice = { type: "none" };
  }
  if (opts.stream) body.stream = true;
  return JSON.stringify(body);
}
