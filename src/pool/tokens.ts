/**
 * Token estimates, used before a call (rate-limit reservations, cost and context-window
 * checks) and when an upstream reports no usage. About four characters per token, the usual
 * rule of thumb for English text with BPE tokenizers; images count a flat amount.
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { TokenUsage } from "../core/provider.js";

const IMAGE_TOKENS = 765; // a 512px tile plus base cost in OpenAI's accounting
const PER_MESSAGE = 4; // role and separators

export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

/** Estimated prompt tokens of a whole request (messages, parts, tools). */
export function estimatePromptTokens(req: ChatRequest): number {
  let n = 3;
  for (const m of req.messages) {
    n += PER_MESSAGE + estimateTokens(m.content);
    for (const p of m.parts) {
      if (p.part.case === "text") n += estimateTokens(p.part.value);
      else if (p.part.case === "image") n += IMAGE_TOKENS;
    }
    for (const c of m.toolCalls) n += estimateTokens(c.name) + estimateTokens(c.arguments);
  }
  for (const t of req.tools) {
    n += estimateTokens(t.name) + estimateTokens(t.description);
    if (t.parameters) n += estimateTokens(JSON.stringify(t.parameters));
  }
  return n;
}

/** The upstream's usage, or an estimate (prompt estimate + completion text) when it sent none. */
export function settleUsage(promptTokens: number, usage: TokenUsage | undefined, text: string): TokenUsage & { estimated: boolean } {
  if (usage) return { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cachedTokens: usage.cachedTokens, estimated: false };
  return { promptTokens, completionTokens: estimateTokens(text), cachedTokens: 0, estimated: true };
}
