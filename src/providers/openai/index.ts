/**
 * The OpenAI chat-completions adapter, also serving every OpenAI-compatible preset (Groq,
 * Together, OpenRouter, LM Studio, vLLM, Ollama's /v1): non-streaming JSON and SSE with
 * `stream_options.include_usage`.
 */
import type { ProviderConfig } from "../../config/schema.js";
import {
  HttpUpstream,
  failFromResponse,
  parseOpenAIRateLimit,
  readJson,
  extractErrorMessage,
} from "../http.js";
import { normalizeOpenAIFinish, resolveCapabilities, usageOf } from "../common.js";

export { resolveCapabilities };
import { type ChatResult, type EmbedCall, type EmbedResult, type Provider, type ProviderCapabilities, type StreamEvent, type UpstreamCall } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";
import { buildOpenAIBody } from "./request.js";
import { openaiBodyError, openaiStream } from "./response.js";
import { pipeStream } from "../stream.js";

export interface OpenAIPreset {
  baseUrl: string;
  /** Whether an API key is required (local servers need none). */
  requiresKey: boolean;
  maxCompletionTokens: boolean;
  capabilities: ProviderCapabilities;
  /** Extra headers the preset always sends. */
  headers?: Record<string, string>;
}

/**
 * Where the chat-completions API lives and how it authenticates. OpenAI and the compatible
 * servers use the defaults; Azure OpenAI uses deployment paths and an `api-key` header.
 */
export interface OpenAIRoutes {
  chatPath(model: string): string;
  /** The embeddings API for a model (default `/embeddings`). */
  embeddingsPath?(model: string): string;
  /** Model listing (`{data: [{id}]}`), for discovery. */
  modelsPath: string;
  /** A cheap authenticated GET for probes and warmup (default: `modelsPath`). */
  probePath?: string;
  authHeaders(apiKey: string): Record<string, string>;
}

export const OPENAI_ROUTES: OpenAIRoutes = {
  chatPath: () => "/chat/completions",
  embeddingsPath: () => "/embeddings",
  modelsPath: "/models",
  authHeaders: (key) => ({ authorization: `Bearer ${key}` }),
};

export const OPENAI_PRESETS: Record<string, OpenAIPreset> = {
  openai: {
    baseUrl: "https://api.openai.com/v1",
    requiresKey: true,
    maxCompletionTokens: true,
    capabilities: { vision: true, tools: true, contextWindow: 128_000 },
  },
  groq: {
    baseUrl: "https://api.groq.com/openai/v1",
    requiresKey: true,
    maxCompletionTokens: false,
    capabilities: { vision: false, tools: true, contextWindow: 128_000 },
  },
  together: {
    baseUrl: "https://api.together.xyz/v1",
    requiresKey: true,
    maxCompletionTokens: false,
    capabilities: { vision: false, tools: true, contextWindow: 0 },
  },
  openrouter: {
    baseUrl: "https://openrouter.ai/api/v1",
    requiresKey: true,
    maxCompletionTokens: false,
    capabilities: { vision: true, tools: true, contextWindow: 0 },
    headers: { "x-title": "llmpool" },
  },
  lmstudio: {
    baseUrl: "http://127.0.0.1:1234/v1",
    requiresKey: false,
    maxCompletionTokens: false,
    capabilities: { vision: false, tools: true, contextWindow: 0 },
  },
  vllm: {
    baseUrl: "http://127.0.0.1:8000/v1",
    requiresKey: false,
    maxCompletionTokens: false,
    capabilities: { vision: false, tools: true, contextWindow: 0 },
  },
  "ollama-openai": {
    baseUrl: "http://127.0.0.1:11434/v1",
    requiresKey: false,
    maxCompletionTokens: false,
    capabilities: { vision: false, tools: true, contextWindow: 0 },
  },
};

interface OpenAIChoice {
  message?: {
    content?: string | null;
    refusal?: string | null;
    tool_calls?: { id: string; function: { name: string; arguments: string } }[];
  };
  delta?: {
    content?: string | null;
    tool_calls?: {
      index: number;
      id?: string;
      function?: { name?: string; arguments?: string };
    }[];
  };
  finish_reason?: string | null;
}

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

interface OpenAIResponse {
  id?: string;
  model?: string;
  choices?: OpenAIChoice[];
  usage?: OpenAIUsage | null;
  error?: { message?: string; type?: string; code?: string | number };
}

export class OpenAIProvider implements Provider {
  readonly name: string;
  readonly type: string;
  readonly capabilities: ProviderCapabilities;
  private readonly http: HttpUpstream;
  private readonly preset: OpenAIPreset;

  private readonly routes: OpenAIRoutes;

  constructor(cfg: ProviderConfig, preset: OpenAIPreset, routes: OpenAIRoutes = OPENAI_ROUTES) {
    this.routes = routes;
    this.name = cfg.name;
    this.type = cfg.type;
    this.preset = preset;
    this.capabilities = resolveCapabilities(cfg, preset.capabilities);
    const headers: Record<string, string> = { ...preset.headers, ...cfg.headers };
    if (cfg.api_key) Object.assign(headers, routes.authHeaders(cfg.api_key));
    this.http = new HttpUpstream({
      provider: cfg.name,
      baseUrl: cfg.base_url ?? preset.baseUrl,
      connections: cfg.connections,
      connectTimeoutMs: cfg.connect_timeout_ms,
      headers,
    });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const body = buildOpenAIBody(call.request, call.model, {
      maxCompletionTokens: this.preset.maxCompletionTokens,
      stream: false,
      prefill: call.prefill,
    });
    const res = await this.http.request("POST", this.routes.chatPath(call.model), body, call.signal);
    const rateLimit = parseOpenAIRateLimit(res);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw await failFromResponse(this.name, res, extractErrorMessage, rateLimit);
    }
    const j = await readJson<OpenAIResponse>(this.name, res, call.signal);
    if (j.error) throw openaiBodyError(this.name, j.error, res.statusCode);
    const choice = j.choices?.[0];
    if (!choice) {
      throw new ProviderError({
        provider: this.name,
        kind: "invalid_response",
        message: "upstream response has no choices",
      });
    }
    const msg = choice.message ?? {};
    const u = j.usage;
    return {
      id: j.id ?? "",
      model: j.model ?? call.model,
      content: msg.content ?? msg.refusal ?? "",
      toolCalls: (msg.tool_calls ?? []).map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      })),
      finishReason: normalizeOpenAIFinish(choice.finish_reason),
      rawFinishReason: choice.finish_reason ?? "",
      usage: u
        ? usageOf(u.prompt_tokens, u.completion_tokens, u.prompt_tokens_details?.cached_tokens)
        : undefined,
      rateLimit,
    };
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const body = buildOpenAIBody(call.request, call.model, {
      maxCompletionTokens: this.preset.maxCompletionTokens,
      stream: true,
      prefill: call.prefill,
    });
    const res = await this.http.request("POST", this.routes.chatPath(call.model), body, call.signal);
    const rateLimit = parseOpenAIRateLimit(res);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw await failFromResponse(this.name, res, extractErrorMessage, rateLimit);
    }
    yield* pipeStream(this.name, res, call.signal, openaiStream(res.body, { provider: this.name, rateLimit }));
  }

  /** POST /embeddings with float vectors (what every compatible server speaks). */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    const body = JSON.stringify({ model: call.model, input: call.inputs, encoding_format: "float", ...(call.dimensions ? { dimensions: call.dimensions } : {}) });
    const res = await this.http.request("POST", this.routes.embeddingsPath?.(call.model) ?? "/embeddings", body, call.signal);
    const rateLimit = parseOpenAIRateLimit(res);
    if (res.statusCode < 200 || res.statusCode >= 300) throw await failFromResponse(this.name, res, extractErrorMessage, rateLimit);
    const j = await readJson<{ data?: { index?: number; embedding?: number[] }[]; model?: string; usage?: { prompt_tokens?: number }; error?: OpenAIResponse["error"] }>(this.name, res, call.signal);
    if (j.error) throw openaiBodyError(this.name, j.error, res.statusCode);
    const vectors: number[][] = [];
    for (const [i, d] of (j.data ?? []).entries()) {
      if (!Array.isArray(d.embedding)) throw new ProviderError({ provider: this.name, kind: "invalid_response", message: `data[${i}].embedding is not a float array` });
      vectors[d.index ?? i] = d.embedding;
    }
    return { vectors, model: j.model ?? call.model, promptTokens: j.usage?.prompt_tokens, rateLimit };
  }

  async listModels(signal: AbortSignal): Promise<string[]> {
    const res = await this.http.request("GET", this.routes.modelsPath, undefined, signal);
    if (res.statusCode !== 200) throw await failFromResponse(this.name, res);
    const j = await readJson<{ data?: { id: string }[] }>(this.name, res, signal);
    return (j.data ?? []).map((m) => m.id);
  }

  async probe(signal: AbortSignal): Promise<void> {
    const res = await this.http.request("GET", (this.routes.probePath ?? this.routes.modelsPath), undefined, signal);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump();
      return;
    }
    throw await failFromResponse(this.name, res);
  }

  async warmup(signal: AbortSignal): Promise<void> {
    await this.http.warmup((this.routes.probePath ?? this.routes.modelsPath), signal);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
