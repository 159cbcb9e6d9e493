/**
 * Anthropic Messages request → the neutral ChatRequest: the top-level `system` becomes a
 * system message, `tool_result` blocks become tool messages, `tool_use` blocks assistant tool
 * calls, and image blocks (base64 or URL) image parts.
 */
import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatRequestSchema, type ChatRequest, type ContentPartSchema, type MessageSchema } from "../../../../gen/llmpool/v1/llmpool_pb.js";
import { invalidArgument } from "../../../core/errors.js";
import { argumentsText, asObject, optArray, optBool, optInt, optNumber, optObject, optString, stopList, type Obj } from "../fields.js";

type MessageInit = MessageInitShape<typeof MessageSchema>;
type PartInit = MessageInitShape<typeof ContentPartSchema>;

export interface AnthropicChat {
  request: ChatRequest;
  stream: boolean;
}

export function toChatRequest(body: Obj, metadata: Record<string, string>): AnthropicChat {
  const given = optArray(body, "messages");
  if (!given) throw invalidArgument("messages", "required");
  const messages: MessageInit[] = [];
  const system = body.system;
  if (typeof system === "string") {
    if (system) messages.push({ role: "system", content: system });
  } else if (Array.isArray(system)) {
    const text = system.map((b, i) => optString(asObject(b, `system[${i}]`), "text", `system[${i}].text`) ?? "").join("\n");
    if (text) messages.push({ role: "system", content: text });
  } else if (system !== undefined && system !== null) {
    throw invalidArgument("system", "must be a string or an array of text blocks");
  }
  given.forEach((m, i) => messages.push(...turn(m, `messages[${i}]`)));
  const meta = optObject(body, "metadata");
  const request = create(ChatRequestSchema, {
    model: optString(body, "model") ?? "",
    messages,
    maxTokens: optInt(body, "max_tokens"),
    temperature: optNumber(body, "temperature"),
    topP: optNumber(body, "top_p"),
    stop: stopList(body, "stop_sequences"),
    user: meta ? (optString(meta, "user_id", "metadata.user_id") ?? "") : "",
    tools: (optArray(body, "tools") ?? []).map((t, i) => {
      const o = asObject(t, `tools[${i}]`);
      return {
        name: optString(o, "name", `tools[${i}].name`) ?? "",
        description: optString(o, "description", `tools[${i}].description`) ?? "",
        parameters: (optObject(o, "input_schema", `tools[${i}].input_schema`) ?? { type: "object", properties: {} }) as JsonObject,
      };
    }),
    toolChoice: toolChoice(optObject(body, "tool_choice")),
    metadata,
  });
  return { request, stream: optBool(body, "stream") ?? false };
}

function toolChoice(o: Obj | undefined) {
  if (!o) return undefined;
  const type = optString(o, "type", "tool_choice.type");
  switch (type) {
    case "auto":
    case "none":
      return { mode: type };
    case "any":
      return { mode: "required" };
    case "tool":
      return { mode: "function", functionName: optString(o, "name", "tool_choice.name") ?? "" };
    default:
      throw invalidArgument("tool_choice.type", `must be auto, any, tool or none (got ${JSON.stringify(type)})`);
  }
}

/** One Anthropic turn: usually one message; tool results become one tool message each. */
function turn(v: unknown, at: string): MessageInit[] {
  const m = asObject(v, at);
  const role = optString(m, "role", `${at}.role`) ?? "";
  if (role !== "user" && role !== "assistant") throw invalidArgument(`${at}.role`, `must be user or assistant (got ${JSON.stringify(role)})`);
  const content = m.content;
  if (typeof content === "string") return [{ role, content }];
  if (!Array.isArray(content)) throw invalidArgument(`${at}.content`, "must be a string or an array of content blocks");
  const out: MessageInit[] = [];
  const parts: PartInit[] = [];
  const calls: { id: string; name: string; arguments: string }[] = [];
  content.forEach((b, j) => {
    const bp = `${at}.content[${j}]`;
    const block = asObject(b, bp);
    const type = optString(block, "type", `${bp}.type`);
    if (type === "text") parts.push({ part: { case: "text", value: optString(block, "text", `${bp}.text`) ?? "" } });
    else if (type === "image") parts.push({ part: { case: "image", value: image(optObject(block, "source", `${bp}.source`) ?? {}, `${bp}.source`) } });
    else if (type === "tool_use") {
      calls.push({ id: optString(block, "id", `${bp}.id`) ?? "", name: optString(block, "name", `${bp}.name`) ?? "", arguments: argumentsText(block.input, `${bp}.input`) });
    } else if (type === "tool_result") {
      const c = block.content;
      const text =
        typeof c === "string"
          ? c
          : Array.isArray(c)
            ? c.map((x, k) => optString(asObject(x, `${bp}.content[${k}]`), "text", `${bp}.content[${k}].text`) ?? "").join("")
            : "";
      out.push({ role: "tool", toolCallId: optString(block, "tool_use_id", `${bp}.tool_use_id`) ?? "", content: text || "(empty)" });
    } else if (type !== "thinking" && type !== "redacted_thinking") {
      throw invalidArgument(`${bp}.type`, `must be text, image, tool_use or tool_result (got ${JSON.stringify(type)})`);
    }
  });
  // A lone text block stays plain content (cheapest for every upstream).
  const only = parts.length === 1 && parts[0]!.part?.case === "text" ? (parts[0]!.part.value as string) : undefined;
  if (parts.length > 0 || calls.length > 0 || out.length === 0) {
    out.push(only !== undefined ? { role, content: only, toolCalls: calls } : { role, parts, toolCalls: calls });
  }
  return out;
}

function image(src: Obj, at: string) {
  const type = optString(src, "type", `${at}.type`);
  if (type === "base64") {
    const data = optString(src, "data", `${at}.data`) ?? "";
    return { source: { case: "data" as const, value: Buffer.from(data, "base64") }, mimeType: optString(src, "media_type", `${at}.media_type`) ?? "" };
  }
  if (type === "url") return { source: { case: "url" as const, value: optString(src, "url", `${at}.url`) ?? "" } };
  throw invalidArgument(`${at}.type`, `must be base64 or url (got ${JSON.stringify(type)})`);
}
