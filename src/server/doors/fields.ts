/**
 * Typed reads of a door's JSON body: each wrong type is INVALID_ARGUMENT naming its path
 * (`messages[1].content`), so a door never passes junk on to the service.
 */
import { invalidArgument } from "../../core/errors.js";

export type Obj = Record<string, unknown>;

const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const wrong = (path: string, want: string, v: unknown) => invalidArgument(path, `must be ${want}, got ${kind(v)}`);

export function optString(o: Obj, key: string, path = key): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw wrong(path, "a string", v);
  return v;
}

export function optNumber(o: Obj, key: string, path = key): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw wrong(path, "a number", v);
  return v;
}

/** A non-negative integer (token counts, seeds). */
export function optInt(o: Obj, key: string, path = key): number | undefined {
  const v = optNumber(o, key, path);
  if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw invalidArgument(path, `must be a non-negative integer, got ${v}`);
  return v;
}

export function optBool(o: Obj, key: string, path = key): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw wrong(path, "a boolean", v);
  return v;
}

export function optObject(o: Obj, key: string, path = key): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw wrong(path, "an object", v);
  return v as Obj;
}

export function optArray(o: Obj, key: string, path = key): unknown[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw wrong(path, "an array", v);
  return v;
}

export function asObject(v: unknown, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw wrong(path, "an object", v);
  return v as Obj;
}

/** `stop` as OpenAI and Ollama give it: one string or a list of strings. */
export function stopList(o: Obj, key: string, path = key): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return [v];
  if (!Array.isArray(v)) throw wrong(path, "a string or an array of strings", v);
  return v.map((s, i) => {
    if (typeof s !== "string") throw wrong(`${path}[${i}]`, "a string", s);
    return s;
  });
}

/** String-valued metadata (OpenAI `metadata`, Anthropic `metadata`): other values are refused. */
export function stringMap(o: Obj, key: string, path = key): Record<string, string> {
  const m = optObject(o, key, path);
  if (!m) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== "string") throw wrong(`${path}.${k}`, "a string", v);
    out[k] = v;
  }
  return out;
}

/** Arguments of a tool call as JSON text (Ollama and Anthropic give objects, OpenAI text). */
export function argumentsText(v: unknown, path: string): string {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && !Array.isArray(v)) return JSON.stringify(v);
  if (v === undefined || v === null) return "{}";
  throw wrong(path, "an object or a JSON string", v);
}

/** Parsed tool arguments for doors that return objects; text that is not JSON stays a string. */
export function argumentsObject(text: string): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** MIME type of base64 image bytes, from their magic numbers (Ollama sends bare base64). */
export function sniffImageType(b: Uint8Array): string {
  if (b[0] === 0x89 && b[1] === 0x50) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8) return "image/jpeg";
  if (b[0] === 0x47 && b[1] === 0x49) return "image/gif";
  if (b[0] === 0x52 && b[1] === 0x49 && b[8] === 0x57) return "image/webp";
  return "image/png";
}
