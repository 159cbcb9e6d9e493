/**
 * Built-in list prices of well-known models, USD per million tokens: input, output, and
 * cached input (prompt tokens served from the provider's prompt cache; for Anthropic the
 * cache-read rate). Public list prices for standard (non-batch) API use, as published by each
 * vendor in 2025; long-context tiers are not modelled (the lower tier is used). Anything here
 * can be overridden in the config: `cost.prices` for every provider, or a provider's
 * `pricing` for that provider alone.
 *
 * Lookup is by the upstream model name. A vendor prefix ("openai/gpt-4o-mini", as OpenRouter
 * names models), a date or version suffix ("gpt-4o-mini-2024-07-18", "claude-sonnet-4-20250514",
 * "-latest", "-001") and letter case are ignored when the exact name is not listed.
 */
import type { Pricing } from "../balancer/strategy.js";

/** [input, output, cached input]; cached defaults to input when the vendor has no cache rate. */
type Row = readonly [number, number, number?];

const TABLE: Record<string, Row> = {
  // OpenAI
  "gpt-5": [1.25, 10, 0.125],
  "gpt-5-mini": [0.25, 2, 0.025],
  "gpt-5-nano": [0.05, 0.4, 0.005],
  "gpt-4.1": [2, 8, 0.5],
  "gpt-4.1-mini": [0.4, 1.6, 0.1],
  "gpt-4.1-nano": [0.1, 0.4, 0.025],
  "gpt-4o": [2.5, 10, 1.25],
  "gpt-4o-mini": [0.15, 0.6, 0.075],
  "gpt-4-turbo": [10, 30],
  "gpt-4": [30, 60],
  "gpt-3.5-turbo": [0.5, 1.5],
  o1: [15, 60, 7.5],
  "o1-mini": [1.1, 4.4, 0.55],
  o3: [2, 8, 0.5],
  "o3-mini": [1.1, 4.4, 0.55],
  "o4-mini": [1.1, 4.4, 0.275],
  // Anthropic (cached = cache read)
  "claude-opus-4-5": [5, 25, 0.5],
  "claude-opus-4-1": [15, 75, 1.5],
  "claude-opus-4": [15, 75, 1.5],
  "claude-sonnet-4-5": [3, 15, 0.3],
  "claude-sonnet-4": [3, 15, 0.3],
  "claude-haiku-4-5": [1, 5, 0.1],
  "claude-3-7-sonnet": [3, 15, 0.3],
  "claude-3-5-sonnet": [3, 15, 0.3],
  "claude-3-5-haiku": [0.8, 4, 0.08],
  "claude-3-opus": [15, 75, 1.5],
  "claude-3-haiku": [0.25, 1.25, 0.03],
  // Google Gemini (prompts up to 200k / 128k tokens)
  "gemini-2.5-pro": [1.25, 10, 0.31],
  "gemini-2.5-flash": [0.3, 2.5, 0.075],
  "gemini-2.5-flash-lite": [0.1, 0.4, 0.025],
  "gemini-2.0-flash": [0.1, 0.4, 0.025],
  "gemini-2.0-flash-lite": [0.075, 0.3],
  "gemini-1.5-pro": [1.25, 5, 0.3125],
  "gemini-1.5-flash": [0.075, 0.3, 0.01875],
  // Groq
  "llama-3.3-70b-versatile": [0.59, 0.79],
  "llama-3.1-8b-instant": [0.05, 0.08],
  "gemma2-9b-it": [0.2, 0.2],
  // Together
  "meta-llama/llama-3.3-70b-instruct-turbo": [0.88, 0.88],
  "meta-llama/meta-llama-3.1-8b-instruct-turbo": [0.18, 0.18],
  "meta-llama/meta-llama-3.1-70b-instruct-turbo": [0.88, 0.88],
  "meta-llama/meta-llama-3.1-405b-instruct-turbo": [3.5, 3.5],
  // Cohere
  "command-a": [2.5, 10],
  "command-r-plus": [2.5, 10],
  "command-r": [0.15, 0.6],
  "command-r7b": [0.0375, 0.15],
  // Mistral
  "mistral-large": [2, 6],
  "mistral-medium": [0.4, 2],
  "mistral-small": [0.1, 0.3],
  codestral: [0.3, 0.9],
  // DeepSeek
  "deepseek-chat": [0.27, 1.1, 0.07],
  "deepseek-reasoner": [0.55, 2.19, 0.14],
};

/** Date and version suffixes vendors append to a model's base name. */
const SUFFIXES = [
  /-\d{4}-\d{2}-\d{2}$/, // gpt-4o-mini-2024-07-18
  /-\d{8}$/, // claude-sonnet-4-20250514
  /-\d{4}$/, // mistral-large-2411
  /-latest$/, // claude-3-5-haiku-latest
  /-(?:preview|exp)(?:-[\w.-]*)?$/, // gemini-2.5-pro-preview-05-06
  /-\d{3}$/, // gemini-1.5-flash-002
  /-0$/, // claude-sonnet-4-0
];

function rowPricing(r: Row): Pricing {
  return { inputPer1m: r[0], outputPer1m: r[1], cachedInputPer1m: r[2] ?? r[0] };
}

function candidates(model: string): string[] {
  const lower = model.toLowerCase();
  const out = [lower];
  const slash = lower.lastIndexOf("/");
  if (slash >= 0) out.push(lower.slice(slash + 1));
  for (const name of [...out]) {
    let base = name;
    for (let changed = true; changed; ) {
      changed = false;
      for (const re of SUFFIXES) {
        const next = base.replace(re, "");
        if (next !== base && next.length > 0) {
          base = next;
          out.push(base);
          changed = true;
        }
      }
    }
  }
  // OpenRouter writes "claude-3.5-haiku" where Anthropic writes "claude-3-5-haiku".
  for (const name of [...out]) {
    const dashed = name.replace(/(\d)\.(\d)/g, "$1-$2");
    if (dashed !== name) out.push(dashed);
  }
  return out;
}

/** The built-in price of an upstream model, or undefined when it is not listed. */
export function builtinPrice(model: string): Pricing | undefined {
  for (const name of candidates(model)) {
    const row = TABLE[name];
    if (row) return rowPricing(row);
  }
  return undefined;
}

/** Every listed model (for documentation and tests). */
export function builtinModels(): string[] {
  return Object.keys(TABLE);
}
