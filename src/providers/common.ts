/**
 * Small mappings shared by several adapters.
 */
import type { Image } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { ProviderConfig } from "../config/schema.js";
import type { FinishReason, ProviderCapabilities, TokenUsage } from "../core/provider.js";

/** An image as a URL: http(s) URLs pass through, bytes become a `data:` URL. */
export function imageToDataUrl(img: Image): string {
  if (img.source.case === "url") return img.source.value;
  if (img.source.case === "data") {
    const mime = img.mimeType || "image/png";
    return `data:${mime};base64,${Buffer.from(img.source.value).toString("base64")}`;
  }
  return "";
}

/** Split a `data:` URL into MIME type and base64 payload. */
export function parseDataUrl(url: string): { mimeType: string; base64: string } | undefined {
  const m = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
  if (!m) return undefined;
  const payload = m[2] ? m[3]! : Buffer.from(decodeURIComponent(m[3]!)).toString("base64");
  return { mimeType: m[1] || "application/octet-stream", base64: payload };
}

const OPENAI_FINISH: Record<string, FinishReason> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  function_call: "tool_calls",
  content_filter: "content_filter",
  eos: "stop",
  error: "error",
};

/** OpenAI-family finish reasons (also used by compatible servers). */
export function normalizeOpenAIFinish(raw: string | null | undefined): FinishReason {
  if (!raw) return "stop";
  return OPENAI_FINISH[raw] ?? "stop";
}

export function usageOf(prompt: unknown, completion: unknown, cached: unknown = 0): TokenUsage {
  return {
    promptTokens: typeof prompt === "number" ? prompt : 0,
    completionTokens: typeof completion === "number" ? completion : 0,
    cachedTokens: typeof cached === "number" ? cached : 0,
  };
}

/** An adapter's capabilities with the provider's `capabilities:` overrides applied. */
export function resolveCapabilities(cfg: ProviderConfig, base: ProviderCapabilities): ProviderCapabilities {
  const vision = cfg.capabilities.vision ?? base.vision;
  return {
    vision,
    tools: cfg.capabilities.tools ?? base.tools,
    contextWindow: cfg.capabilities.context_window ?? base.contextWindow,
    imageUrls: vision && (base.imageUrls ?? true),
    prefill: cfg.capabilities.prefill ?? base.prefill ?? false,
  };
}
