/**
 * Neutral ChatRequest -> Bedrock Converse / ConverseStream request body: `system` blocks,
 * `messages` with `text`, `image` (bytes only), `toolUse` and `toolResult` blocks, sampling in
 * `inferenceConfig`, tools in `toolConfig`. Consecutive turns of one role merge.
 */
import type { ChatRequest } from "../../../gen/llmpool/v1/llmpool_pb.js";
import {
  imageSource,
  imageUrlUnsupported,
  jsonObjectOf,
  messageText,
  parseArguments,
  partPath,
  systemTexts,
  type TrimmedPrefill,
} from "../messages.js";
import { ProviderError } from "../../core/errors.js";

type Json = Record<string, unknown>;
type Turn = { role: "user" | "assistant"; content: Json[] };

/** Converse image formats by MIME type. */
const FORMATS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp" };

function push(turns: Turn[], role: Turn["role"], blocks: Json[]): void {
  if (blocks.length === 0) return;
  const last = turns[turns.length - 1];
  if (last && last.role === role) last.content.push(...blocks);
  else turns.push({ role, content: blocks });
}

export function buildBedrockBody(req: ChatRequest, provider: string, prefill?: TrimmedPrefill): string {
  const messages: Turn[] = [];
  req.messages.forEach((m, i) => {
    if (m.role === "system") return;
    if (m.role === "tool") {
      const text = messageText(m);
      const json = jsonObjectOf(text);
      push(messages, "user", [{ toolResult: { toolUseId: m.toolCallId, content: [json ? { json } : { text }] } }]);
      return;
    }
    const blocks: Json[] = [];
    if (m.content) blocks.push({ text: m.content });
    m.parts.forEach((p, j) => {
      if (p.part.case === "text") {
        if (p.part.value) blocks.push({ text: p.part.value });
      } else if (p.part.case === "image") {
        const src = imageSource(p.part.value);
        if (src.kind !== "bytes") throw imageUrlUnsupported(provider, "bedrock", partPath(i, j));
        const format = FORMATS[src.mimeType.toLowerCase()];
        if (!format) {
          throw new ProviderError({
            provider,
            kind: "bad_request",
            message: `messages[${i}].parts[${j}].image.mime_type: Bedrock takes png, jpeg, gif or webp images (got ${src.mimeType})`,
          });
        }
        blocks.push({ image: { format, source: { bytes: src.base64 } } });
      }
    });
    if (m.role === "assistant") {
      for (const c of m.toolCalls) blocks.push({ toolUse: { toolUseId: c.id, name: c.name, input: parseArguments(c.arguments) } });
    }
    push(messages, m.role === "assistant" ? "assistant" : "user", blocks);
  });
  // A final assistant turn is continued by the model (stream resume).
  if (prefill) push(messages, "assistant", [{ text: prefill.text }]);
  const body: Json = { messages };
  const system = systemTexts(req).filter((t) => t.length > 0);
  if (system.length > 0) body.system = system.map((text) => ({ text }));
  const inf: Json = {};
  if (req.maxTokens !== undefined) inf.maxTokens = req.maxTokens;
  if (req.temperature !== undefined) inf.temperature = Math.min(req.temperature, 1);
  if (req.topP !== undefined) inf.topP = req.topP;
  if (req.stop.length > 0) inf.stopSequences = req.stop;
  if (Object.keys(inf).length > 0) body.inferenceConfig = inf;
  // Converse needs toolConfig whenever the history holds toolUse / toolResult blocks.
  if (req.tools.length > 0) {
    const toolConfig: Json = {
      tools: req.tools.map((t) => ({
        toolSpec: {
          name: t.name,
          ...(t.description ? { description: t.description } : {}),
          inputSchema: { json: t.parameters ?? { type: "object", properties: {} } },
        },
      })),
    };
    const mode = req.toolChoice?.mode;
    if (mode === "auto") toolConfig.toolChoice = { auto: {} };
    else if (mode === "required") toolConfig.toolChoice = { any: {} };
    else if (mode === "function") toolConfig.toolChoice = { tool: { name: req.toolChoice!.functionName } };
    body.toolConfig = toolConfig;
  }
  return JSON.stringify(body);
}
