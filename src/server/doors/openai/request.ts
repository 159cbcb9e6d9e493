/**
 * OpenAI Chat Completions request → the service's neutral ChatRequest. Fields the pool has no
 * equivalent for are refused by name when they would change the answer (`n` > 1), ignored
 * when they are hints (`logprobs`, `service_tier`).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { JsonObject } from "@bufbuild/protobuf";
import { ChatRequestSchema, type ChatRequest, type ContentPartSchema, type MessageSchema } from "../../../../gen/llmpool/v1/llmpool_pb.js";
import { invalidArgument } from "../../../core/errors.js";
import {
  argumentsText,
  asObject,
  optArray,
  optBool,
  optInt,
  optNumber,
  optObject,
  optString,
  stopList,
  stringMap,
  type Obj,
} from "../fields.js";

type MessageInit = MessageInitShape<typeof MessageSchema>;
type PartInit = MessageInitShape<typeof ContentPartSchema>;

export interface OpenAIChat {
  request: ChatRequest;
  stream: boolean;
  includeUsage: boolean;
}

export function toChatRequest(body: Obj, metadata: Record<string, string>): OpenAIChat {
  const n = optInt(body, "n");
  if (n !== undefined && n !== 1) throw invalidArgument("n", `only n=1 is supported (got ${n})`);
  const messages = optArray(body, "messages");
  if (!messages) throw invalidArgument("messages", "required");
  const maxTokens = optInt(body, "max_completion_tokens") ?? optInt(body, "max_tokens");
  const streamOpts = optObject(body, "stream_options");
  const tools = (optArray(body, "tools") ?? []).map((t, i) => tool(t, `tools[${i}]`));
  const request = create(ChatRequestSchema, {
    model: optString(body, "model") ?? "",
    messages: messages.map((m, i) => message(m, `messages[${i}]`)),
    temperature: optNumber(body, "temperature"),
    topP: optNumber(body, "top_p"),
    maxTokens,
    stop: stopList(body, "stop"),
    seed: optNumber(body, "seed") === undefined ? undefined : BigInt(Math.trunc(optNumber(body, "seed")!)),
    presencePenalty: optNumber(body, "presence_penalty"),
    frequencyPenalty: optNumber(body, "frequency_penalty"),
    user: optString(body, "user") ?? "",
    tools,
    toolChoice: toolChoice(body.tool_choice),
    responseFormat: responseFormat(optObject(body, "response_format")),
    metadata: { ...stringMap(body, "metadata"), ...metadata },
  });
  return { request, stream: optBool(body, "stream") ?? false, includeUsage: streamOpts ? (optBool(streamOpts, "include_usage", "stream_options.include_usage") ?? false) : false };
}

function message(v: unknown, at: string): MessageInit {
  const m = asObject(v, at);
  let role = optString(m, "role", `${at}.role`) ?? "";
  if (role === "developer") role = "system";
  const out: MessageInit = { role, name: optString(m, "name", `${at}.name`) ?? "", toolCallId: optString(m, "tool_call_id", `${at}.tool_call_id`) ?? "" };
  const content = m.content;
  if (typeof content === "string") out.content = content;
  else if (Array.isArray(content)) out.parts = content.map((p, j) => part(p, `${at}.content[${j}]`));
  else if (content !== undefined && content !== null) throw invalidArgument(`${at}.content`, "must be a string or an array of content parts");
  const calls = optArray(m, "tool_calls", `${at}.tool_calls`);
  if (calls) {
    out.toolCalls = calls.map((c, j) => {
      const cp = `${at}.tool_calls[${j}]`;
      const call = asObject(c, cp);
      const fn = optObject(call, "function", `${cp}.function`) ?? {};
      return { id: optString(call, "id", `${cp}.id`) ?? "", name: optString(fn, "name", `${cp}.function.name`) ?? "", arguments: argumentsText(fn.arguments, `${cp}.function.arguments`) };
    });
  }
  return out;
}

function part(v: unknown, at: string): PartInit {
  const p = asObject(v, at);
  const type = optString(p, "type", `${at}.type`);
  if (type === "text") return { part: { case: "text", value: optString(p, "text", `${at}.text`) ?? "" } };
  if (type === "image_url") {
    const img = p.image_url;
    const o = typeof img === "string" ? { url: img } : asObject(img, `${at}.image_url`);
    const url = optString(o, "url", `${at}.image_url.url`) ?? "";
    const mime = /^data:([^;,]+)/.exec(url)?.[1] ?? "";
    return { part: { case: "image", value: { source: { case: "url", value: url }, mimeType: mime, detail: optString(o, "detail", `${at}.image_url.detail`) ?? "" } } };
  }
  throw invalidArgument(`${at}.type`, `must be "text" or "image_url" (got ${JSON.stringify(type)})`);
}

function tool(v: unknown, at: string) {
  const t = asObject(v, at);
  const type = optString(t, "type", `${at}.type`) ?? "function";
  if (type !== "function") throw invalidArgument(`${at}.type`, `only "function" tools are supported (got ${JSON.stringify(type)})`);
  const fn = optObject(t, "function", `${at}.function`);
  if (!fn) throw invalidArgument(`${at}.function`, "required");
  return {
    name: optString(fn, "name", `${at}.function.name`) ?? "",
    description: optString(fn, "description", `${at}.function.description`) ?? "",
    parameters: (optObject(fn, "parameters", `${at}.function.parameters`) ?? { type: "object", properties: {} }) as JsonObject,
  };
}

function toolChoice(v: unknown) {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return { mode: v };
  const o = asObject(v, "tool_choice");
  const fn = optObject(o, "function", "tool_choice.function");
  return { mode: "function", functionName: fn ? (optString(fn, "name", "tool_choice.function.name") ?? "") : "" };
}

function responseFormat(o: Obj | undefined) {
  if (!o) return undefined;
  const type = optString(o, "type", "response_format.type") ?? "";
  if (type !== "json_schema") return { type };
  const js = optObject(o, "json_schema", "response_format.json_schema") ?? {};
  return {
    type,
    name: optString(js, "name", "response_format.json_schema.name") ?? "",
    schema: optObject(js, "schema", "response_format.json_schema.schema") as JsonObject | undefined,
    strict: optBool(js, "strict", "response_format.json_schema.strict") ?? false,
  };
}
