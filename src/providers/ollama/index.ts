/**
 * The native Ollama adapter (`type: ollama`): `/api/chat` (JSON or NDJSON stream),
 * `/api/tags` for model discovery, `/api/version` for probes. No key is needed; one that is
 * set is sent as a bearer token (for Ollama behind an authenticating proxy).
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { resolveCapabilities } from "../common.js";
import { ProviderError } from "../../core/errors.js";
import { HttpUpstream, readJson, send, type SendOptions } from "../http.js";
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

export class OllamaProvider implements Provider {
  readonly name: string;
  readonly type = "ollama";
  readonly capabilities: ProviderCapabilities;
  private readonly http: HttpUpstream;
  private readonly keepAlive?: string | number;
  private readonly io: SendOptions = { extract: ollamaErrorOf };

  constructor(cfg: ProviderConfig) {
    this.name = cfg.name;
    this.capabilities = resolveCapabilities(cfg, CAPABILITIES);
    this.keepAlive = cfg.keep_alive;
    const headers: Record<string, string> = { ...cfg.headers };
    if (cfg.api_key) headers.authorization = `Bearer ${cfg.api_key}`;
    this.http = new HttpUpstream({
      provider: cfg.name,
      baseUrl: cfg.base_url ?? OLLAMA_BASE_URL,
      connections: cfg.connections,
      connectTimeoutMs: cfg.connect_timeout_ms,
      headers,
    });
  }

  private body(call: UpstreamCall, stream: boolean): string {
    return buildOllamaBody(call.request, call.model, { provider: this.name, stream, keepAlive: this.keepAlive, prefill: call.prefill });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const { res, rateLimit } = await send(this.http, "POST", "/api/chat", this.body(call, false), call.signal, this.io);
    const j = await readJson<OllamaChatResponse>(this.name, res, call.signal);
    if (j.error !== undefined) throw streamError(this.name, ollamaErrorOf(JSON.stringify(j)));
    return ollamaResult(j, call.model, rateLimit);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const { res, rateLimit } = await send(this.http, "POST", "/api/chat", this.body(call, true), call.signal, this.io);
    yield* pipeStream(this.name, res, call.signal, ollamaStream(res.body, { provider: this.name, rateLimit }, call.model));
  }

  /** POST /api/embed: every input in one call. */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    const body = JSON.stringify({ model: call.model, input: call.inputs, ...(call.dimensions ? { dimensions: call.dimensions } : {}), ...(this.keepAlive !== undefined ? { keep_alive: this.keepAlive } : {}) });
    const { res, rateLimit } = await send(this.http, "POST", "/api/embed", body, call.signal, this.io);
    const j = await readJson<{ embeddings?: number[][]; model?: string; prompt_eval_count?: number; error?: string }>(this.name, res, call.signal);
    if (j.error !== undefined) throw streamError(this.name, ollamaErrorOf(JSON.stringify(j)));
    if (!Array.isArray(j.embeddings)) throw new ProviderError({ provider: this.name, kind: "invalid_response", message: "upstream response has no embeddings" });
    return { vectors: j.embeddings, model: j.model ?? call.model, promptTokens: j.prompt_eval_count, rateLimit };
  }

  /** Local models from `/api/tags` ("llama3.2:latest", ...). */
  async listModels(signal: AbortSignal): Promise<string[]> {
    const { res } = await send(this.http, "GET", "/api/tags", undefined, signal, this.io);
    const j = await readJson<{ models?: { name?: string; model?: string }[] }>(this.name, res, signal);
    return (j.models ?? []).map((m) => m.model ?? m.name ?? "").filter(Boolean);
  }

  async probe(signal: AbortSignal): Promise<void> {
    const { res } = await send(this.http, "GET", "/api/version", undefined, signal, this.io);
    await res.body.dump();
  }

  async warmup(signal: AbortSignal): Promise<void> {
    await this.http.warmup("/api/version", signal);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

export const ollamaAdapter = {
  validate(_cfg: ProviderConfig): ConfigProblem[] {
    return [];
  },
  create: (cfg: ProviderConfig): Provider => new OllamaProvider(cfg),
};
