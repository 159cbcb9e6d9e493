/**
 * The request caps of server.limits counted on the wire, before protobuf decodes anything:
 * decoding a map of 500,000 metadata entries alone blocks the event loop for seconds, so
 * validate.ts (which checks the decoded request) would come too late. JSON is parsed once
 * here and handed on as an object; binary is walked field by field at the top level, with
 * every value skipped, not decoded.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { RequestLimits } from "../config/schema.js";

const fieldNo = (name: string): number => {
  const f = ChatRequestSchema.fields.find((x) => x.name === name);
  if (!f) throw new Error(`ChatRequest has no field ${name}`);
  return f.number;
};
const MESSAGES = fieldNo("messages");
const METADATA = fieldNo("metadata");
const TOOLS = fieldNo("tools");

function tooMany(field: "messages" | "metadata" | "tools", cap: number, got?: number): ConnectError {
  const setting = field === "metadata" ? "max_metadata_entries" : `max_${field}`;
  const what = field === "metadata" ? "entries" : field;
  const count = got === undefined ? "" : `got ${got}; `;
  return new ConnectError(`${field}: at most ${cap} ${what} (${count}server.limits.${setting})`, Code.InvalidArgument);
}

/** Throws INVALID_ARGUMENT naming the field when a binary ChatRequest is over a count cap. */
export function checkBinaryCaps(body: Uint8Array, l: RequestLimits): void {
  const r = new BinaryReader(body);
  let messages = 0;
  let metadata = 0;
  let tools = 0;
  while (r.pos < r.len) {
    const [no, wire] = r.tag();
    if (no === METADATA && ++metadata > l.max_metadata_entries) throw tooMany("metadata", l.max_metadata_entries);
    if (no === MESSAGES && ++messages > l.max_messages) throw tooMany("messages", l.max_messages);
    if (no === TOOLS && ++tools > l.max_tools) throw tooMany("tools", l.max_tools);
    r.skip(wire, no);
  }
}

/** The same caps on a parsed JSON ChatRequest (proto3 JSON names or field names). */
export function checkJsonCaps(obj: unknown, l: RequestLimits): void {
  if (typeof obj !== "object" || obj === null) return;
  const o = obj as Record<string, unknown>;
  const messages = o.messages;
  if (Array.isArray(messages) && messages.length > l.max_messages) throw tooMany("messages", l.max_messages, messages.length);
  const tools = o.tools;
  if (Array.isArray(tools) && tools.length > l.max_tools) throw tooMany("tools", l.max_tools, tools.length);
  const metadata = o.metadata;
  if (typeof metadata === "object" && metadata !== null) {
    let n = 0;
    for (const _ in metadata) if (++n > l.max_metadata_entries) throw tooMany("metadata", l.max_metadata_entries);
  }
}
