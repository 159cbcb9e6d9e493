/**
 * The native Ollama adapter (`type: ollama`): `/api/chat` (JSON or NDJSON stream),
 * `/api/tags` for model discovery, `/api/version` for probes. No key is needed; one that is
 * set is sent as a bearer token (for Ollama behind an authenticating proxy).
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { ProviderError } from "../../core/errors.js";
import { HttpAdapter, type ModelPage } from "../http-adapter.js";
import { pipeStream, streamError } from "../stream.js";
import type { ChatResult, EmbedCall, EmbedResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { buildOllamaBody } from "./request.js";
import { ollamaErrorOf, ollamaResult, ollamaStream, type OllamaChatResponse } from "./response.js";

export const OLLAMA_BASE_URL = "http://127.0.0.1:11434";

/**
 * Vision depends on the model pulled, so it is off unless `capabilities.vision: true`; images
 * travel as bytes only (`images` is base64), so image URLs are routed elsewhere.
 */
const CAPABILITIES: ProviderCapabilities = { vision: false, tools: true, contextWindow: 0, imageUrls: false };

export class OllamaProvider extends HttpAdapter {
  readonly type = "ollama";
  private readonly keepAlive?: string | number;

  constructor(cfg: ProviderConfig) {
    super({
      cfg,
      defaultBaseUrl: OLLAMA_BASE_URL,
      headers: { ...cfg.headers, ...(cfg.api_key ? { authorization: `Bearer ${cfg.api_key}` } : {}) },
      capabilities: CAPABILITIES,
      io: { extract: ollamaErrorOf },
      notFoundHint: "give base_url as the server root, without /api or /v1 (type ollama-openai speaks /v1)",
    });
    this.keepAlive = cfg.keep_alive;
  }

  private body(call: UpstreamCall, stream: boolean): string {
    return buildOllamaBody(call.request, call.model, { provider: this.name, stream, keepAlive: this.keepAlive, prefill: call.prefill });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const { res, rateLimit } = await this.send("POST", "/api/chat", this.body(call, false), call.signal);
    const j = await this.json<OllamaChatResponse>(res, call.signal);
    if (j.error !== undefined) throw streamError(this.name, ollamaErrorOf(JSON.stringify(j)));
    return ollamaResult(j, call.model, rateLimit);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const { res, rateLimit } = await this.send("POST", "/api/chat", this.body(call, true), call.signal);
    yield* pipeStream(this.name, res, call.signal, ollamaStream(res.body, this.streamContext(rateLimit), call.model));
  }

  /** POST /api/embed: every input in one call. */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    const body = JSON.stringify({ model: call.model, input: call.inputs, ...(call.dimensions ? { dimensions: call.dimensions } : {}), ...(this.keepAlive !== undefined ? { keep_alive: this.keepAlive } : {}) });
    const { res, rateLimit } = await this.send("POST", "/api/embed", body, call.signal);
    const j = await this.json<{ embeddings?: number[][]; model?: string; prompt_eval_count?: number; error?: string }>(res, call.signal);
    if (j.error !== undefined) throw streamError(this.name, ollamaErrorOf(JSON.stringify(j)));
    if (!Array.isArray(j.embeddings)) throw new ProviderError({ provider: this.name, kind: "invalid_response", message: "upstream response has no embeddings" });
    return { vectors: j.embeddings, model: j.model ?? call.model, promptTokens: j.prompt_eval_count, rateLimit };
  }

  protected probePath(): string {
    return "/api/version";
  }

  protected modelsPath(): string {
    return "/api/tags";
  }

  /** Local models ("llama3.2:latest", ...), one page. */
  protected readModels(body: unknown): ModelPage {
    const j = body as { models?: { name?: string; model?: string }[] };
    return { ids: (j.models ?? []).map((m) => m.model ?? m.name ?? "").filter(Boolean) };
  }
}

export const ollamaAdapter = {
  validate(_cfg: ProviderConfig): ConfigProblem[] {
    return [];
  },
  create: (cfg: ProviderConfig): Provider => new OllamaProvider(cfg),
};
