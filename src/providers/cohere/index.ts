/**
 * The Cohere v2 adapter (`type: cohere`): `/v2/chat` (JSON or SSE) with a bearer key, model
 * discovery from `/v1/models?endpoint=chat`.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { resolveCapabilities } from "../common.js";
import { HttpUpstream, readJson, send, type SendOptions } from "../http.js";
import { pipeStream } from "../stream.js";
import type { ChatResult, EmbedCall, EmbedResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { buildCohereBody } from "./request.js";
import { cohereErrorOf, cohereResult, cohereStream, parseCohereRateLimit, type CohereResponse } from "./response.js";

/** The SDK's base URL; paths add `/v2/chat` and `/v1/models`. */
export const COHERE_BASE_URL = "https://api.cohere.com";

/** Vision needs a vision model (command-a-vision); tools work on command-r and later. */
const CAPABILITIES: ProviderCapabilities = { vision: false, tools: true, contextWindow: 128_000, imageUrls: true };

export class CohereProvider implements Provider {
  readonly name: string;
  readonly type = "cohere";
  readonly capabilities: ProviderCapabilities;
  private readonly http: HttpUpstream;
  private readonly io: SendOptions = { extract: cohereErrorOf, rateLimit: parseCohereRateLimit };

  constructor(cfg: ProviderConfig) {
    this.name = cfg.name;
    this.capabilities = resolveCapabilities(cfg, CAPABILITIES);
    const headers: Record<string, string> = { accept: "application/json", ...cfg.headers };
    if (cfg.api_key) headers.authorization = `Bearer ${cfg.api_key}`;
    this.http = new HttpUpstream({
      provider: cfg.name,
      baseUrl: cfg.base_url ?? COHERE_BASE_URL,
      connections: cfg.connections,
      connectTimeoutMs: cfg.connect_timeout_ms,
      headers,
    });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const body = buildCohereBody(call.request, call.model, false, call.prefill);
    const { res, rateLimit } = await send(this.http, "POST", "/v2/chat", body, call.signal, this.io);
    return cohereResult(await readJson<CohereResponse>(this.name, res, call.signal), call.model, rateLimit);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const body = buildCohereBody(call.request, call.model, true, call.prefill);
    const { res, rateLimit } = await send(this.http, "POST", "/v2/chat", body, call.signal, {
      ...this.io,
      headers: { accept: "text/event-stream" },
    });
    yield* pipeStream(this.name, res, call.signal, cohereStream(res.body, { provider: this.name, rateLimit }, call.model));
  }

  /** Chat-capable models, pages followed. */
  async listModels(signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let token = "";
    for (let page = 0; page < 20; page++) {
      const q = `/v1/models?endpoint=chat&page_size=1000${token ? `&page_token=${encodeURIComponent(token)}` : ""}`;
      const { res } = await send(this.http, "GET", q, undefined, signal, this.io);
      const j = await readJson<{ models?: { name: string }[]; next_page_token?: string }>(this.name, res, signal);
      for (const m of j.models ?? []) out.push(m.name);
      if (!j.next_page_token) break;
      token = j.next_page_token;
    }
    return out;
  }

  /** `/v2/embed` with float vectors; `input_type: search_document` (the store side of retrieval). */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    const body = JSON.stringify({
      model: call.model,
      texts: call.inputs,
      input_type: "search_document",
      embedding_types: ["float"],
      ...(call.dimensions ? { output_dimension: call.dimensions } : {}),
    });
    const { res, rateLimit } = await send(this.http, "POST", "/v2/embed", body, call.signal, this.io);
    const j = await readJson<{ embeddings?: { float?: number[][] }; meta?: { billed_units?: { input_tokens?: number } } }>(this.name, res, call.signal);
    return { vectors: j.embeddings?.float ?? [], model: call.model, promptTokens: j.meta?.billed_units?.input_tokens, rateLimit };
  }

  async probe(signal: AbortSignal): Promise<void> {
    const { res } = await send(this.http, "GET", "/v1/models?page_size=1", undefined, signal, this.io);
    await res.body.dump();
  }

  async warmup(signal: AbortSignal): Promise<void> {
    await this.http.warmup("/v1/models?page_size=1", signal);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

export const cohereAdapter = {
  validate(cfg: ProviderConfig): ConfigProblem[] {
    return cfg.api_key || cfg.base_url ? [] : [{ path: "api_key", message: "required for type cohere" }];
  },
  create: (cfg: ProviderConfig): Provider => new CohereProvider(cfg),
};
