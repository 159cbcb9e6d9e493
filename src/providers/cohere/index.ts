/**
 * The Cohere v2 adapter (`type: cohere`): `/v2/chat` (JSON or SSE) with a bearer key, model
 * discovery from `/v1/models?endpoint=chat`.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { HttpAdapter, type ModelPage } from "../http-adapter.js";
import { pipeStream } from "../stream.js";
import type { ChatResult, EmbedCall, EmbedResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { buildCohereBody } from "./request.js";
import { cohereErrorOf, cohereResult, cohereStream, parseCohereRateLimit, type CohereResponse } from "./response.js";

/** The SDK's base URL; paths add `/v2/chat` and `/v1/models`. */
export const COHERE_BASE_URL = "https://api.cohere.com";

/** Vision needs a vision model (command-a-vision); tools work on command-r and later. */
const CAPABILITIES: ProviderCapabilities = { vision: false, tools: true, contextWindow: 128_000, imageUrls: true };

const STREAM_HEADERS = { accept: "text/event-stream" };

export class CohereProvider extends HttpAdapter {
  readonly type = "cohere";

  constructor(cfg: ProviderConfig) {
    super({
      cfg,
      defaultBaseUrl: COHERE_BASE_URL,
      headers: { accept: "application/json", ...cfg.headers, ...(cfg.api_key ? { authorization: `Bearer ${cfg.api_key}` } : {}) },
      capabilities: CAPABILITIES,
      io: { extract: cohereErrorOf, rateLimit: parseCohereRateLimit },
      notFoundHint: "give base_url without /v1 or /v2; llmpool adds /v2/chat",
    });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const body = buildCohereBody(call.request, call.model, false, call.prefill);
    const { res, rateLimit } = await this.send("POST", "/v2/chat", body, call.signal);
    return cohereResult(await this.json<CohereResponse>(res, call.signal), call.model, rateLimit);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const body = buildCohereBody(call.request, call.model, true, call.prefill);
    const { res, rateLimit } = await this.send("POST", "/v2/chat", body, call.signal, this.http, STREAM_HEADERS);
    yield* pipeStream(this.name, res, call.signal, cohereStream(res.body, this.streamContext(rateLimit), call.model));
  }

  protected probePath(): string {
    return "/v1/models?page_size=1";
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
    const { res, rateLimit } = await this.send("POST", "/v2/embed", body, call.signal);
    const j = await this.json<{ embeddings?: { float?: number[][] }; meta?: { billed_units?: { input_tokens?: number } } }>(res, call.signal);
    return { vectors: j.embeddings?.float ?? [], model: call.model, promptTokens: j.meta?.billed_units?.input_tokens, rateLimit };
  }

  /** Chat-capable models, paged by `page_token`. */
  protected modelsPath(token: string): string {
    return `/v1/models?endpoint=chat&page_size=1000${token ? `&page_token=${encodeURIComponent(token)}` : ""}`;
  }

  protected readModels(body: unknown): ModelPage {
    const j = body as { models?: { name: string }[]; next_page_token?: string };
    return { ids: (j.models ?? []).map((m) => m.name), next: j.next_page_token || undefined };
  }
}

export const cohereAdapter = {
  validate(cfg: ProviderConfig): ConfigProblem[] {
    return cfg.api_key || cfg.base_url ? [] : [{ path: "api_key", message: "required for type cohere" }];
  },
  create: (cfg: ProviderConfig): Provider => new CohereProvider(cfg),
};
