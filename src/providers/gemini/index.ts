/**
 * The Gemini API adapter (`type: gemini`): `generateContent` and
 * `streamGenerateContent?alt=sse` with `x-goog-api-key`, model discovery from `models`.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { resolveCapabilities } from "../common.js";
import { HttpUpstream, readJson, send, type SendOptions } from "../http.js";
import { pipeStream } from "../stream.js";
import type { ChatResult, EmbedCall, EmbedResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { buildGeminiBody } from "./request.js";
import { geminiErrorOf, geminiResult, geminiStream, type GeminiResponse } from "./response.js";

/** The Gemini Developer API, version included (use .../v1 for the stable surface). */
export const GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta";

const CAPABILITIES: ProviderCapabilities = { vision: true, tools: true, contextWindow: 1_000_000, imageUrls: true };

/** "gemini-2.0-flash" -> "models/gemini-2.0-flash"; "tunedModels/x" stays as it is. */
export const modelPath = (model: string) => (model.includes("/") ? model : `models/${model}`);

export class GeminiProvider implements Provider {
  readonly name: string;
  readonly type = "gemini";
  readonly capabilities: ProviderCapabilities;
  private readonly http: HttpUpstream;
  private readonly io: SendOptions = { extract: geminiErrorOf };

  constructor(cfg: ProviderConfig) {
    this.name = cfg.name;
    this.capabilities = resolveCapabilities(cfg, CAPABILITIES);
    const headers: Record<string, string> = { ...cfg.headers };
    if (cfg.api_key) headers["x-goog-api-key"] = cfg.api_key;
    this.http = new HttpUpstream({
      provider: cfg.name,
      baseUrl: cfg.base_url ?? GEMINI_BASE_URL,
      connections: cfg.connections,
      connectTimeoutMs: cfg.connect_timeout_ms,
      headers,
    });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const body = buildGeminiBody(call.request, call.prefill);
    const { res, rateLimit } = await send(this.http, "POST", `/${modelPath(call.model)}:generateContent`, body, call.signal, this.io);
    const j = await readJson<GeminiResponse>(this.name, res, call.signal);
    return geminiResult(this.name, j, call.model, rateLimit);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const body = buildGeminiBody(call.request, call.prefill);
    const path = `/${modelPath(call.model)}:streamGenerateContent?alt=sse`;
    const { res, rateLimit } = await send(this.http, "POST", path, body, call.signal, this.io);
    yield* pipeStream(this.name, res, call.signal, geminiStream(res.body, { provider: this.name, rateLimit }, call.model));
  }

  /** `GET /models`, pages followed; only models that serve generateContent, without "models/". */
  async listModels(signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let token = "";
    for (let page = 0; page < 20; page++) {
      const q = `/models?pageSize=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ""}`;
      const { res } = await send(this.http, "GET", q, undefined, signal, this.io);
      const j = await readJson<{ models?: { name: string; supportedGenerationMethods?: string[] }[]; nextPageToken?: string }>(
        this.name,
        res,
        signal,
      );
      for (const m of j.models ?? []) {
        if (m.supportedGenerationMethods && !m.supportedGenerationMethods.includes("generateContent")) continue;
        out.push(m.name.replace(/^models\//, ""));
      }
      if (!j.nextPageToken) break;
      token = j.nextPageToken;
    }
    return out;
  }

  /** `batchEmbedContents`: every input in one call; Gemini reports no token counts (estimated). */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    const model = modelPath(call.model);
    const body = JSON.stringify({
      requests: call.inputs.map((text) => ({ model, content: { parts: [{ text }] }, ...(call.dimensions ? { outputDimensionality: call.dimensions } : {}) })),
    });
    const { res, rateLimit } = await send(this.http, "POST", `/${model}:batchEmbedContents`, body, call.signal, this.io);
    const j = await readJson<{ embeddings?: { values?: number[] }[] }>(this.name, res, call.signal);
    return { vectors: (j.embeddings ?? []).map((e) => e.values ?? []), model: call.model, rateLimit };
  }

  async probe(signal: AbortSignal): Promise<void> {
    const { res } = await send(this.http, "GET", "/models?pageSize=1", undefined, signal, this.io);
    await res.body.dump();
  }

  async warmup(signal: AbortSignal): Promise<void> {
    await this.http.warmup("/models?pageSize=1", signal);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

export const geminiAdapter = {
  validate(cfg: ProviderConfig): ConfigProblem[] {
    return cfg.api_key || cfg.base_url ? [] : [{ path: "api_key", message: "required for type gemini" }];
  },
  create: (cfg: ProviderConfig): Provider => new GeminiProvider(cfg),
};
