/**
 * Reading the neutral conversation, for adapters whose wire format differs from OpenAI's:
 * message text, system prompts, tool-result names, tool arguments, image sources and the
 * assistant prefill used to resume a stream on another provider.
 */
import type { ChatRequest, Image, Message } from "../../gen/llmpool/v1/llmpool_pb.js";
import { parseDataUrl } from "./common.js";
import { ProviderError } from "../core/errors.js";

/** A message's text: `content` first, then its text parts, joined without separators. */
export function messageText(m: Message): string {
  if (m.parts.length === 0) return m.content;
  let text = m.content;
  for (const p of m.parts) if (p.part.case === "text") text += p.part.value;
  return text;
}

/** System messages' texts, in order (APIs that lift the system prompt out of the turns). */
export function systemTexts(req: ChatRequest): string[] {
  const out: string[] = [];
  for (const m of req.messages) if (m.role === "system") out.push(messageText(m));
  return out;
}

/**
 * The function name a tool message answers: its own `name`, else the name of the call with
 * the same id in the nearest assistant message before it (APIs such as Gemini and Ollama
 * match tool results by name, not by id).
 */
export function toolNameFor(req: ChatRequest, index: number): string {
  const m = req.messages[index]!;
  if (m.name) return m.name;
  for (let i = index - 1; i >= 0; i--) {
    const prev = req.messages[i]!;
    if (prev.role !== "assistant") continue;
    for (const c of prev.toolCalls) if (c.id === m.toolCallId) return c.name;
  }
  return "";
}

/** Tool-call arguments as an object (APIs that take parsed JSON); `{}` when empty or not JSON. */
export function parseArguments(text: string): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return {};
  }
}

/** A tool result as a JSON object when it is one, else undefined. */
export function jsonObjectOf(text: string): Record<string, unknown> | undefined {
  const t = text.trimStart();
  if (t[0] !== "{") return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export type ImageSource =
  | { kind: "bytes"; mimeType: string; base64: string }
  | { kind: "url"; url: string; mimeType: string };

const EXT_MIME: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

/** Where an image comes from: inline bytes (also from a `data:` URL) or an http(s) URL. */
export function imageSource(img: Image): ImageSource {
  if (img.source.case === "data") {
    return { kind: "bytes", mimeType: img.mimeType || "image/png", base64: Buffer.from(img.source.value).toString("base64") };
  }
  const url = img.source.case === "url" ? img.source.value : "";
  if (url.startsWith("data:")) {
    const d = parseDataUrl(url);
    if (d) return { kind: "bytes", mimeType: img.mimeType || d.mimeType, base64: d.base64 };
  }
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  return { kind: "url", url, mimeType: img.mimeType || (ext && EXT_MIME[ext]) || "image/jpeg" };
}

/**
 * The error for an image URL given to an API that takes only bytes. llmpool never fetches
 * images itself (no network beyond the upstream), and the pool routes URL images away from
 * such providers (capability `imageUrls: false`), so this is reached only when routing was
 * forced; it is a request-scope error, mapped to INVALID_ARGUMENT.
 */
export function imageUrlUnsupported(provider: string, type: string, where: string): ProviderError {
  return new ProviderError({
    provider,
    kind: "bad_request",
    message: `${where}: provider type ${type} takes images only as inline bytes (image.data) or data: URLs, not http(s) URLs; llmpool does not fetch images`,
  });
}

/** Where a message's parts live, for error messages. */
export const partPath = (mi: number, pi: number) => `messages[${mi}].parts[${pi}].image.url`;

/**
 * Anthropic-style APIs reject a final assistant turn that ends in whitespace. The prefill is
 * sent trimmed, and when something was trimmed the continuation's leading whitespace is
 * dropped once, so the caller's text (which already has it) is not doubled.
 */
export interface TrimmedPrefill {
  text: string;
  /** Apply to each text delta in order. */
  continue(delta: string): string;
}

export function trimmedPrefill(prefill: string | undefined): TrimmedPrefill | undefined {
  if (!prefill) return undefined;
  const text = prefill.trimEnd();
  if (!text) return undefined;
  let pending = text.length < prefill.length;
  return {
    text,
    continue(delta) {
      if (!pending || delta.length === 0) return delta;
      const stripped = delta.trimStart();
      if (stripped.length > 0) pending = false;
      return stripped;
    },
  };
}

/** A random id for tool calls an API returns without one (Gemini, Ollama). */
export function syntheticCallId(): string {
  return `call_${Math.random().toString(36).slice(2, 10)}${Math.random().toString(36).slice(2, 6)}`;
}
