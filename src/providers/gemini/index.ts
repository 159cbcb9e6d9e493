/**
 * The Gemini API adapter (`type: gemini`): `generateContent` and
 * `streamGenerateContent?alt=sse` with `x-goog-api-key`, model discovery from `models`.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { HttpAdapter, type ModelPage } from "../http-adapter.js";
import { pipeStream } from "../stream.js";
import type { ChatResult, EmbedCall, EmbedResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { buildGeminiBody } from "./request.js";
import { geminiErrorOf, geminiResult, geminiStream, type GeminiResponse } from "./response.js";

/** The Gemini Developer API, version included (use .../v1 for the stable surface). */
export const GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta";

const CAPABILITIES: ProviderCapabilities = { vision: true, tools: true, contextWindow: 1_000_000, imageUrls: true };

/** "gemini-2.0-flash" -> "models/gemini-2.0-flash"; "tunedModels/x" stays as it is. */
export const modelPath = (model: string) => (model.includes("/") ? model : `models/${model}`);

export class GeminiProvider extends HttpAdapter {
  readonly type = "gemini";

  constructor(cfg: ProviderConfig) {
    super({
      cfg,
      defaultBaseUrl: GEMINI_BASE_URL,
      headers: { ...cfg.headers, ...(cfg.api_key ? { "x-goog-api-key": cfg.api_key } : {}) },
      capabilities: CAPABILITIES,
      io: { extract: geminiErrorOf },
      notFoundHint: "base_url may lack the API version, e.g. /v1beta",
    });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const body = buildGeminiBody(call.request, call.prefill);
    const { res, rateLimit } = await this.send("POST", `/${modelPath(call.model)}:generateContent`, body, call.signal);
    const j = await this.json<GeminiResponse>(res, call.signal);
    return geminiResult(this.name, j, call.model, rateLimit);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const body = buildGeminiBody(call.request, call.prefill);
    const path = `/${modelPath(call.model)}:streamGenerateContent?alt=sse`;
    const { res, rateLimit } = await this.send("POST", path, body, call.signal);
    yield* pipeStream(this.name, res, call.signal, geminiStream(res.body, this.streamContext(rateLimit), call.model));
  }

  protected probePath(): string {
    return "/models?pageSize=1";
  }

  protected modelsPath(token: string): string {
    return `/models?pageSize=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ""}`;
  }

  /** Only models that serve generateContent, without "models/". */
  protected readModels(body: unknown): ModelPage {
    const j = body as { models?: { name: string; supportedGenerationMethods?: string[] }[]; nextPageToken?: string };
    const ids: string[] = [];
    for (const m of j.models ?? []) {
      if (m.supportedGenerationMethods && !m.supportedGenerationMethods.includes("generateContent")) continue;
      ids.push(m.name.replace(/^models\//, ""));
    }
    return { ids, next: j.nextPageToken || undefined };
  }

  /** `batchEmbedContents`: every input in one call; Gemini reports no token counts (estimated). */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    const model = modelPath(call.model);
    const body = JSON.stringify({
      requests: call.inputs.map((text) => ({ model, content: { parts: [{ text }] }, ...(call.dimensions ? { outputDimensionality: call.dimensions } : {}) })),
    });
    const { res, rateLimit } = await this.send("POST", `/${model}:batchEmbedContents`, body, call.signal);
    const j = await this.json<{ embeddings?: { values?: number[] }[] }>(res, call.signal);
    return { vectors: (j.embeddings ?? []).map((e) => e.values ?? []), model: call.model, rateLimit };
  }
}

export const geminiAdapter = {
  validate(cfg: ProviderConfig): ConfigProblem[] {
    return cfg.api_key || cfg.base_url ? [] : [{ path: "api_key", message: "required for type gemini" }];
  },
  create: (cfg: ProviderConfig): Provider => new GeminiProvider(cfg),
};
