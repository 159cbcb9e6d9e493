/**
 * Ollama /api/chat and /api/generate requests → the neutral ChatRequest. Ollama streams unless
 * `stream: false`; sampling settings sit in `options`; images are bare base64 (their type is
 * read from the bytes); tool calls carry no ids, so the door numbers them and hands each tool
 * message the next unanswered id of the assistant turn before it.
 */
import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatRequestSchema, type ChatRequest, type ContentPartSchema, type MessageSchema } from "../../../../gen/llmpool/v1/llmpool_pb.js";
import { invalidArgument } from "../../../core/errors.js";
import { argumentsText, asObject, optArray, optBool, optInt, optNumber, optObject, optString, sniffImageType, stopList, type Obj } from "../fields.js";

type MessageInit = MessageInitShape<typeof MessageSchema>;
type PartInit = MessageInitShape<typeof ContentPartSchema>;

export interface OllamaChat {
  request: ChatRequest;
  stream: boolean;
}

function images(list: unknown[] | undefined, at: string): PartInit[] {
  return (list ?? []).map((v, i) => {
    if (typeof v !== "string" || !v) throw invalidArgument(`${at}[${i}]`, "must be a non-empty base64 string");
    const data = Buffer.from(v, "base64");
    return { part: { case: "image", value: { source: { case: "data", value: data }, mimeType: sniffImageType(data) } } };
  });
}

function common(body: Obj, messages: MessageInit[], metadata: Record<string, string>): OllamaChat {
  const o = optObject(body, "options") ?? {};
  const seed = optNumber(o, "seed", "options.seed");
  const format = body.format;
  let responseFormat;
  if (format === "json") responseFormat = { type: "json_object" };
  else if (typeof format === "object" && format !== null && !Array.isArray(format)) responseFormat = { type: "json_schema", name: "response", schema: format as JsonObject };
  else if (format !== undefined && format !== null && format !== "") throw invalidArgument("format", `must be "json" or a JSON schema object`);
  const request = create(ChatRequestSchema, {
    model: optString(body, "model") ?? "",
    messages,
    temperature: optNumber(o, "temperature", "options.temperature"),
    topP: optNumber(o, "top_p", "options.top_p"),
    maxTokens: (() => {
      const n = optNumber(o, "num_predict", "options.num_predict");
      return n === undefined || n < 0 ? undefined : optInt(o, "num_predict", "options.num_predict");
    })(),
    stop: stopList(o, "stop", "options.stop"),
    seed: seed === undefined ? undefined : BigInt(Math.trunc(seed)),
    presencePenalty: optNumber(o, "presence_penalty", "options.presence_penalty"),
    frequencyPenalty: optNumber(o, "frequency_penalty", "options.frequency_penalty"),
    tools: (optArray(body, "tools") ?? []).map((t, i) => {
      const fn = optObject(asObject(t, `tools[${i}]`), "function", `tools[${i}].function`) ?? {};
      return {
        name: optString(fn, "name", `tools[${i}].function.name`) ?? "",
        description: optString(fn, "description", `tools[${i}].function.description`) ?? "",
        parameters: (optObject(fn, "parameters", `tools[${i}].function.parameters`) ?? { type: "object", properties: {} }) as JsonObject,
      };
    }),
    responseFormat,
    metadata,
  });
  return { request, stream: optBool(body, "stream") ?? true };
}

export function chatRequest(body: Obj, metadata: Record<string, string>): OllamaChat {
  const given = optArray(body, "messages");
  if (!given) throw invalidArgument("messages", "required");
  let pending: { id: string; name: string }[] = [];
  const messages = given.map((v, i): MessageInit => {
    const at = `messages[${i}]`;
    const m = asObject(v, at);
    const role = optString(m, "role", `${at}.role`) ?? "";
    const content = optString(m, "content", `${at}.content`) ?? "";
    const imgs = images(optArray(m, "images", `${at}.images`), `${at}.images`);
    const out: MessageInit = imgs.length > 0 ? { role, parts: [...(content ? [{ part: { case: "text" as const, value: content } }] : []), ...imgs] } : { role, content };
    const calls = optArray(m, "tool_calls", `${at}.tool_calls`);
    if (calls) {
      out.toolCalls = calls.map((c, j) => {
        const fn = optObject(asObject(c, `${at}.tool_calls[${j}]`), "function", `${at}.tool_calls[${j}].function`) ?? {};
        const name = optString(fn, "name", `${at}.tool_calls[${j}].function.name`) ?? "";
        return { id: optString(asObject(c, ""), "id", `${at}.tool_calls[${j}].id`) || `call_${i}_${j}`, name, arguments: argumentsText(fn.arguments, `${at}.tool_calls[${j}].function.arguments`) };
      });
      pending = out.toolCalls.map((c) => ({ id: c.id!, name: c.name! }));
    }
    if (role === "tool") {
      const name = optString(m, "tool_name", `${at}.tool_name`) ?? optString(m, "name", `${at}.name`);
      const k = Math.max(0, name ? pending.findIndex((p) => p.name === name) : 0);
      const call = pending.splice(k, 1)[0];
      if (!call) throw invalidArgument(`${at}`, "a tool message must follow an assistant message with tool_calls");
      out.toolCallId = call.id;
    }
    return out;
  });
  return common(body, messages, metadata);
}

export function generateRequest(body: Obj, metadata: Record<string, string>): OllamaChat {
  const prompt = optString(body, "prompt");
  if (!prompt) throw invalidArgument("prompt", "required");
  const system = optString(body, "system");
  const imgs = images(optArray(body, "images"), "images");
  const messages: MessageInit[] = [];
  if (system) messages.push({ role: "system", content: system });
  messages.push(imgs.length > 0 ? { role: "user", parts: [{ part: { case: "text", value: prompt } }, ...imgs] } : { role: "user", content: prompt });
  return common(body, messages, metadata);
}
