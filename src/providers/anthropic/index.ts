/**
 * The Anthropic Messages API adapter (`type: anthropic`): `x-api-key` and `anthropic-version`
 * headers, JSON and named-event SSE, `anthropic-ratelimit-*` headers, model discovery from
 * `/v1/models`.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { resolveCapabilities } from "../common.js";
import { HttpUpstream, readJson, send, type SendOptions } from "../http.js";
import { trimmedPrefill } from "../messages.js";
import { pipeStream } from "../stream.js";
import type { ChatResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { buildAnthropicBody } from "./request.js";
import { anthropicErrorOf, anthropicResult, anthropicStream, parseAnthropicRateLimit, type AnthropicMessage } from "./response.js";

/** Official API host; the SDK's `baseURL` default. Paths add `/v1/...`. */
export const ANTHROPIC_BASE_URL = "https://api.anthropic.com";
/** The Messages API version sent as `anthropic-version` unless `api_version` says otherwise. */
export const ANTHROPIC_VERSION = "2023-06-01";

const CAPABILITIES: ProviderCapabilities = { vision: true, tools: true, contextWindow: 200_000, imageUrls: true };

export class AnthropicProvider implements Provider {
  readonly name: string;
  readonly type = "anthropic";
  readonly capabilities: ProviderCapabilities;
  private readonly http: HttpUpstream;
  private readonly defaultMaxTokens: number;
  private readonly io: SendOptions = { extract: anthropicErrorOf, rateLimit: (res) => parseAnthropicRateLimit(res) };

  constructor(cfg: ProviderConfig) {
    this.name = cfg.name;
    this.capabilities = resolveCapabilities(cfg, CAPABILITIES);
    this.defaultMaxTokens = cfg.default_max_tokens;
    const headers: Record<string, string> = { "anthropic-version": cfg.api_version ?? ANTHROPIC_VERSION, ...cfg.headers };
    if (cfg.api_key) headers["x-api-key"] = cfg.api_key;
    this.http = new HttpUpstream({
      provider: cfg.name,
      baseUrl: cfg.base_url ?? ANTHROPIC_BASE_URL,
      connections: cfg.connections,
      connectTimeoutMs: cfg.connect_timeout_ms,
      headers,
    });
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const prefill = trimmedPrefill(call.prefill);
    const body = buildAnthropicBody(call.request, call.model, { stream: false, defaultMaxTokens: this.defaultMaxTokens, prefill });
    const { res, rateLimit } = await send(this.http, "POST", "/v1/messages", body, call.signal, this.io);
    const j = await readJson<AnthropicMessage>(this.name, res, call.signal);
    return anthropicResult(j, call.model, rateLimit, prefill);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const prefill = trimmedPrefill(call.prefill);
    const body = buildAnthropicBody(call.request, call.model, { stream: true, defaultMaxTokens: this.defaultMaxTokens, prefill });
    const { res, rateLimit } = await send(this.http, "POST", "/v1/messages", body, call.signal, this.io);
    yield* pipeStream(this.name, res, call.signal, anthropicStream(res.body, { provider: this.name, rateLimit }, prefill));
  }

  /** `GET /v1/models`, following `has_more` / `last_id` pages. */
  async listModels(signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let after = "";
    for (let page = 0; page < 20; page++) {
      const q = `/v1/models?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ""}`;
      const { res } = await send(this.http, "GET", q, undefined, signal, this.io);
      const j = await readJson<{ data?: { id: string }[]; has_more?: boolean; last_id?: string | null }>(this.name, res, signal);
      for (const m of j.data ?? []) out.push(m.id);
      if (!j.has_more || !j.last_id) break;
      after = j.last_id;
    }
    return out;
  }

  /** One-model page of `/v1/models`: checks reachability and the key without spending tokens. */
  async probe(signal: AbortSignal): Promise<void> {
    const { res } = await send(this.http, "GET", "/v1/models?limit=1", undefined, signal, this.io);
    await res.body.dump();
  }

  async warmup(signal: AbortSignal): Promise<void> {
    await this.http.warmup("/v1/models?limit=1", signal);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

export const anthropicAdapter = {
  validate(cfg: ProviderConfig): ConfigProblem[] {
    return cfg.api_key || cfg.base_url ? [] : [{ path: "api_key", message: "required for type anthropic" }];
  },
  create: (cfg: ProviderConfig): Provider => new AnthropicProvider(cfg),
};
