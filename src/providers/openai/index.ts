/**
 * The OpenAI chat-completions adapter, also serving every OpenAI-compatible preset (Groq,
 * Together, OpenRouter, LM Studio, vLLM, Ollama's /v1): non-streaming JSON and SSE with
 * `stream_options.include_usage`. Lifecycle and status mapping live in src/providers/http-adapter.ts.
 */
import type { ProviderConfig } from "../../config/schema.js";
import { normalizeOpenAIFinish, resolveCapabilities, usageOf } from "../common.js";
import { HttpAdapter, type ModelPage } from "../http-adapter.js";
import { pipeStream } from "../stream.js";
import type { ChatResult, EmbedCall, EmbedResult, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";
import { buildOpenAIBody } from "./request.js";
import { openaiBodyError, openaiStream } from "./response.js";

export { resolveCapabilities };

export interface OpenAIPreset {
  baseUrl: string;
  /** Whether an API key is required (local servers need none). */
  requiresKey: boolean;
  maxCompletionTokens: boolean;
  capabilities: ProviderCapabilities;
  /** Extra headers the preset always sends. */
  headers?: Record<string, string>;
  /**
   * The server continues an assistant prefill when asked with `continue_final_message`
   * (vLLM's chat template extension); sent only on calls that carry a prefill.
   */
  continueFinalMessage?: boolean;
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
  /** What a 404 from the probe most likely means about `base_url`. */
  notFoundHint: string;
}

export const OPENAI_ROUTES: OpenAIRoutes = {
  chatPath: () => "/chat/completions",
  embeddingsPath: () => "/embeddings",
  modelsPath: "/models",
  authHeaders: (key) => ({ authorization: `Bearer ${key}` }),
  notFoundHint: "base_url may lack /v1",
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
    // vLLM documents `continue_final_message` for continuing the last assistant message.
    capabilities: { vision: false, tools: true, contextWindow: 0, prefill: true },
    continueFinalMessage: true,
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

export class OpenAIProvider extends HttpAdapter {
  readonly type: string;
  private readonly preset: OpenAIPreset;
  private readonly routes: OpenAIRoutes;

  constructor(cfg: ProviderConfig, preset: OpenAIPreset, routes: OpenAIRoutes = OPENAI_ROUTES) {
    super({
      cfg,
      defaultBaseUrl: preset.baseUrl,
      headers: { ...preset.headers, ...cfg.headers, ...(cfg.api_key ? routes.authHeaders(cfg.api_key) : {}) },
      capabilities: preset.capabilities,
      notFoundHint: routes.notFoundHint,
    });
    this.type = cfg.type;
    this.preset = preset;
    this.routes = routes;
  }

  private body(call: UpstreamCall, stream: boolean): string {
    return buildOpenAIBody(call.request, call.model, {
      maxCompletionTokens: this.preset.maxCompletionTokens,
      stream,
      prefill: call.prefill,
      continueFinalMessage: this.preset.continueFinalMessage,
    });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const { res, rateLimit } = await this.send("POST", this.routes.chatPath(call.model), this.body(call, false), call.signal);
    const j = await this.json<OpenAIResponse>(res, call.signal);
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
    const { res, rateLimit } = await this.send("POST", this.routes.chatPath(call.model), this.body(call, true), call.signal);
    yield* pipeStream(this.name, res, call.signal, openaiStream(res.body, this.streamContext(rateLimit)));
  }

  /** POST /embeddings with float vectors (what every compatible server speaks). */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    const body = JSON.stringify({ model: call.model, input: call.inputs, encoding_format: "float", ...(call.dimensions ? { dimensions: call.dimensions } : {}) });
    const { res, rateLimit } = await this.send("POST", this.routes.embeddingsPath?.(call.model) ?? "/embeddings", body, call.signal);
    const j = await this.json<{ data?: { index?: number; embedding?: number[] }[]; model?: string; usage?: { prompt_tokens?: number }; error?: OpenAIResponse["error"] }>(res, call.signal);
    if (j.error) throw openaiBodyError(this.name, j.error, res.statusCode);
    const vectors: number[][] = [];
    for (const [i, d] of (j.data ?? []).entries()) {
      if (!Array.isArray(d.embedding)) throw new ProviderError({ provider: this.name, kind: "invalid_response", message: `data[${i}].embedding is not a float array` });
      vectors[d.index ?? i] = d.embedding;
    }
    return { vectors, model: j.model ?? call.model, promptTokens: j.usage?.prompt_tokens, rateLimit };
  }

  protected probePath(): string {
    return this.routes.probePath ?? this.routes.modelsPath;
  }

  protected modelsPath(): string {
    return this.routes.modelsPath;
  }

  /** `{data: [{id}]}`, one page. */
  protected readModels(body: unknown): ModelPage {
    return { ids: ((body as { data?: { id: string }[] }).data ?? []).map((m) => m.id) };
  }
}
