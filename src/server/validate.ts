/**
 * Request validation: every problem names its field (`messages[2].role`) and why. Checks that
 * need the pool (provider names, strategies, models) happen in the pool; these need only the
 * request.
 */
import type { ChatRequest, Image } from "../../gen/llmpool/v1/llmpool_pb.js";
import { invalidArgument } from "../core/errors.js";
import type { RequestLimits } from "../config/schema.js";
import { requestLimitsSchema } from "../config/security-schema.js";

/** server.limits when the caller passes none (the schema's defaults). */
const DEFAULT_LIMITS: RequestLimits = requestLimitsSchema.parse({});

/**
 * Approximate JSON size of a value, stopping once past `max` (so a huge schema costs no more
 * than `max` to measure). Strings count their length, numbers 8, punctuation 2 per entry.
 */
function jsonSize(v: unknown, max: number): number {
  let size = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0 && size <= max) {
    const x = stack.pop();
    if (typeof x === "string") size += x.length + 2;
    else if (x === null || typeof x !== "object") size += 8;
    else if (Array.isArray(x)) {
      size += 2;
      for (const e of x) stack.push(e);
    } else {
      size += 2;
      for (const k in x) {
        size += k.length + 3;
        stack.push((x as Record<string, unknown>)[k]);
      }
    }
  }
  return size;
}

/** Caps on the request's shape, checked before anything walks it in full. */
function checkLimits(req: ChatRequest, l: RequestLimits): void {
  if (req.messages.length > l.max_messages) {
    throw invalidArgument("messages", `at most ${l.max_messages} messages (got ${req.messages.length}; server.limits.max_messages)`);
  }
  let entries = 0;
  for (const _ in req.metadata) {
    if (++entries > l.max_metadata_entries) {
      throw invalidArgument("metadata", `at most ${l.max_metadata_entries} entries (server.limits.max_metadata_entries)`);
    }
  }
  if (req.tools.length > l.max_tools) {
    throw invalidArgument("tools", `at most ${l.max_tools} tools (got ${req.tools.length}; server.limits.max_tools)`);
  }
  let total = 0;
  const max = l.max_decoded_bytes;
  for (let i = 0; i < req.tools.length; i++) {
    const t = req.tools[i]!;
    const n = t.parameters ? jsonSize(t.parameters, l.max_tool_schema_bytes) : 0;
    if (n > l.max_tool_schema_bytes) {
      throw invalidArgument(`tools[${i}].parameters`, `schema larger than ${l.max_tool_schema_bytes} bytes (server.limits.max_tool_schema_bytes)`);
    }
    total += n + t.name.length + t.description.length;
  }
  for (const m of req.messages) {
    total += m.content.length + m.toolCallId.length;
    for (const p of m.parts) {
      const v = p.part.value;
      if (p.part.case === "text") total += (v as string).length;
      else if (p.part.case === "image") total += (p.part.value.source.value?.length ?? 0);
    }
    for (const c of m.toolCalls) total += c.arguments.length + c.name.length + c.id.length;
    if (total > max) break;
  }
  for (const k in req.metadata) total += k.length + req.metadata[k]!.length;
  if (total > max) {
    throw invalidArgument("request", `decoded request larger than ${max} bytes (server.limits.max_decoded_bytes)`);
  }
}

const ROLES = new Set(["system", "user", "assistant", "tool"]);
const TOOL_CHOICE_MODES = new Set(["", "auto", "none", "required", "function"]);
const RESPONSE_FORMATS = new Set(["", "text", "json_object", "json_schema"]);
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const DETAILS = new Set(["", "auto", "low", "high"]);
const NO_TOOLS: ReadonlySet<string> = new Set();

function range(field: string, v: number | undefined, lo: number, hi: number, loOpen = false): void {
  if (v === undefined) return;
  if (!Number.isFinite(v) || (loOpen ? v <= lo : v < lo) || v > hi) {
    throw invalidArgument(field, `must be in ${loOpen ? "(" : "["}${lo}, ${hi}], got ${v}`);
  }
}

/** The tools' names, checking each tool; a name given twice is an error. */
function toolNames(tools: ChatRequest["tools"]): Set<string> {
  const names = new Set<string>();
  tools.forEach((t, i) => {
    if (!TOOL_NAME.test(t.name)) {
      throw invalidArgument(`tools[${i}].name`, "1-64 letters, digits, underscores or dashes");
    }
    if (names.has(t.name)) throw invalidArgument(`tools[${i}].name`, `duplicate tool ${JSON.stringify(t.name)}`);
    names.add(t.name);
    if (t.parameters && t.parameters.type !== undefined && t.parameters.type !== "object") {
      throw invalidArgument(`tools[${i}].parameters.type`, 'a tool\'s parameters schema must be of type "object"');
    }
  });
  return names;
}

/** One image part (`pat` is its path, `messages[i].parts[j]`). */
function checkImage(img: Image, role: string, pat: string): void {
  if (role !== "user") throw invalidArgument(`${pat}.image`, "images are only allowed in user messages");
  if (img.source.case === undefined) throw invalidArgument(`${pat}.image`, "set data or url");
  if (img.source.case === "data") {
    if (img.source.value.length === 0) throw invalidArgument(`${pat}.image.data`, "must not be empty");
    if (!/^image\/[a-z0-9.+-]+$/i.test(img.mimeType)) {
      throw invalidArgument(`${pat}.image.mime_type`, `must be an image MIME type such as image/png (got ${JSON.stringify(img.mimeType)})`);
    }
  } else if (!/^(https?:\/\/|data:image\/)/i.test(img.source.value)) {
    throw invalidArgument(`${pat}.image.url`, "must be an http(s) URL or a data:image/... URL");
  }
  if (!DETAILS.has(img.detail)) throw invalidArgument(`${pat}.image.detail`, "must be auto, low or high");
}

export function validateChatRequest(req: ChatRequest, limits: RequestLimits = DEFAULT_LIMITS): void {
  checkLimits(req, limits);
  if (req.messages.length === 0) throw invalidArgument("messages", "at least one message is required");
  if (req.model.length > 256) throw invalidArgument("model", "at most 256 characters");
  const cache = req.metadata.cache;
  if (cache !== undefined && cache !== "skip") throw invalidArgument("metadata.cache", `must be "skip" or absent (got ${JSON.stringify(cache.slice(0, 32))})`);
  // Plain loops, and field paths built only for the error: this runs on every call.
  const messages = req.messages;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (!ROLES.has(m.role)) {
      throw invalidArgument(`messages[${i}].role`, `must be one of system, user, assistant, tool (got ${JSON.stringify(m.role)})`);
    }
    for (let j = 0; j < m.parts.length; j++) {
      const p = m.parts[j]!;
      if (p.part.case === "image") checkImage(p.part.value, m.role, `messages[${i}].parts[${j}]`);
      else if (p.part.case === undefined) throw invalidArgument(`messages[${i}].parts[${j}]`, "set text or image");
    }
    for (let j = 0; j < m.toolCalls.length; j++) {
      const c = m.toolCalls[j]!;
      if (m.role !== "assistant") throw invalidArgument(`messages[${i}].tool_calls`, "only assistant messages carry tool calls");
      if (!c.id) throw invalidArgument(`messages[${i}].tool_calls[${j}].id`, "must not be empty");
      if (!c.name) throw invalidArgument(`messages[${i}].tool_calls[${j}].name`, "must not be empty");
    }
    if (m.role === "tool") {
      if (!m.toolCallId) throw invalidArgument(`messages[${i}].tool_call_id`, "required for role tool");
    } else if (m.toolCallId) {
      throw invalidArgument(`messages[${i}].tool_call_id`, "only for role tool");
    }
    if (!m.content && m.parts.length === 0 && m.toolCalls.length === 0 && m.role !== "assistant") {
      throw invalidArgument(`messages[${i}].content`, "a message needs content or parts");
    }
  }
  range("temperature", req.temperature, 0, 2);
  range("top_p", req.topP, 0, 1, true);
  range("presence_penalty", req.presencePenalty, -2, 2);
  range("frequency_penalty", req.frequencyPenalty, -2, 2);
  if (req.maxTokens !== undefined && req.maxTokens < 1) throw invalidArgument("max_tokens", "must be >= 1");
  if (req.stop.length > 4) throw invalidArgument("stop", `at most 4 sequences (got ${req.stop.length})`);
  for (let i = 0; i < req.stop.length; i++) if (req.stop[i]!.length === 0) throw invalidArgument(`stop[${i}]`, "must not be empty");
  // Only a request with tools pays for the set of their names.
  const names: ReadonlySet<string> = req.tools.length === 0 ? NO_TOOLS : toolNames(req.tools);
  const tc = req.toolChoice;
  if (tc) {
    if (!TOOL_CHOICE_MODES.has(tc.mode)) {
      throw invalidArgument("tool_choice.mode", `must be auto, none, required or function (got ${JSON.stringify(tc.mode)})`);
    }
    if ((tc.mode === "required" || tc.mode === "function") && req.tools.length === 0) {
      throw invalidArgument("tool_choice", `mode ${tc.mode} needs tools`);
    }
    if (tc.mode === "function" && !names.has(tc.functionName)) {
      throw invalidArgument("tool_choice.function_name", `must name one of the tools (got ${JSON.stringify(tc.functionName)})`);
    }
  }
  const rf = req.responseFormat;
  if (rf) {
    if (!RESPONSE_FORMATS.has(rf.type)) {
      throw invalidArgument("response_format.type", `must be text, json_object or json_schema (got ${JSON.stringify(rf.type)})`);
    }
    if (rf.type === "json_schema" && !rf.schema) throw invalidArgument("response_format.schema", "required for json_schema");
  }
  for (const [k, v] of Object.entries(req.metadata)) {
    if (k.length > 64) throw invalidArgument("metadata", `key ${JSON.stringify(k.slice(0, 20))}… longer than 64 characters`);
    if (v.length > 512) throw invalidArgument(`metadata.${k}`, "longer than 512 characters");
  }
  const prio = req.metadata.priority;
  if (prio !== undefined && !/^-?\d{1,6}$/.test(prio)) {
    throw invalidArgument("metadata.priority", `must be an integer (got ${JSON.stringify(prio)})`);
  }
}
