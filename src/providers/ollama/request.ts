/**
 * Neutral ChatRequest -> Ollama native `/api/chat` request body: sampling settings go under
 * `options` (`num_predict` is max_tokens), images are a base64 `images` array, tool calls
 * carry parsed `arguments`, tool results name their function in `tool_name`. `stream` is
 * always sent, since Ollama streams unless told otherwise.
 */
import type { ChatRequest } from "../../../gen/llmpool/v1/llmpool_pb.js";
import { imageSource, imageUrlUnsupported, messageText, parseArguments, partPath, toolNameFor } from "../messages.js";

type Json = Record<string, unknown>;

export interface OllamaRequestOptions {
  provider: string;
  stream: boolean;
  keepAlive?: string | number;
  prefill?: string;
}

export function buildOllamaBody(req: ChatRequest, model: string, opts: OllamaRequestOptions): string {
  const messages: Json[] = req.messages.map((m, i) => {
    const out: Json = { role: m.role, content: messageText(m) };
    const images: string[] = [];
    m.parts.forEach((p, j) => {
      if (p.part.case !== "image") return;
      const src = imageSource(p.part.value);
      if (src.kind !== "bytes") throw imageUrlUnsupported(opts.provider, "ollama", partPath(i, j));
      images.push(src.base64);
    });
    if (images.length > 0) out.images = images;
    if (m.role === "assistant" && m.toolCalls.length > 0) {
      out.tool_calls = m.toolCalls.map((c) => ({ function: { name: c.name, arguments: parseArguments(c.arguments) } }));
    }
    if (m.role === "tool") out.tool_name = toolNameFor(req, i);
    return out;
  });
  // A final assistant message is continued, not answered (stream resume).
  if (opts.prefill) messages.push({ role: "assistant", content: opts.prefill });
  const body: Json = { model, messages, stream: opts.stream };
  const options: Json = {};
  if (req.temperature !== undefined) options.temperature = req.temperature;
  if (req.topP !== undefined) options.top_p = req.topP;
  if (req.maxTokens !== undefined) options.num_predict = req.maxTokens;
  if (req.stop.length > 0) options.stop = req.stop;
  if (req.seed !== undefined) options.seed = Number(req.seed);
  if (req.presencePenalty !== undefined) options.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) options.frequency_penalty = req.frequencyPenalty;
  if (Object.keys(options).length > 0) body.options = options;
  const rf = req.responseFormat;
  if (rf?.type === "json_object") body.format = "json";
  else if (rf?.type === "json_schema" && rf.schema) body.format = rf.schema;
  // Ollama has no tool_choice: "none" is honoured by not offering the tools.
  if (req.tools.length > 0 && req.toolChoice?.mode !== "none") {
    body.tools = req.tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters ?? { type: "object", properties: {} },
      },
    }));
  }
  if (opts.keepAlive !== undefined) body.keep_alive = opts.keepAlive;
  return JSON.stringify(body);
}
