/**
 * The Anthropic Messages API adapter (`type: anthropic`): `x-api-key` and `anthropic-version`
 * headers, JSON and named-event SSE, `anthropic-ratelimit-*` headers, model discovery from
 * `/v1/models`.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { HttpAdapter, type ModelPage } from "../http-adapter.js";
import { trimmedPrefill } from "../messages.js";
import { pipeStream } from "../stream.js";
import type { ChatResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { buildAnthropicBody } from "./request.js";
import { anthropicErrorOf, anthropicResult, anthropicStream, parseAnthropicRateLimit, type AnthropicMessage } from "./response.js";

/** Official API host; the SDK's `baseURL` default. Paths add `/v1/...`. */
export const ANTHROPIC_BASE_URL = "https://api.anthropic.com";
/** The Messages API version sent as `anthropic-version` unless `api_version` says otherwise. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** The Messages API documents prefilling the assistant turn, so resume can continue on it. */
const CAPABILITIES: ProviderCapabilities = { vision: true, tools: true, contextWindow: 200_000, imageUrls: true, prefill: true };

/** max_tokens when neither the request nor `default_max_tokens` sets one: the API requires it. */
const FALLBACK_MAX_TOKENS = 4096;

export class AnthropicProvider extends HttpAdapter {
  readonly type = "anthropic";
  private readonly defaultMaxTokens: number;

  constructor(cfg: ProviderConfig) {
    super({
      cfg,
      defaultBaseUrl: ANTHROPIC_BASE_URL,
      headers: { "anthropic-version": cfg.api_version ?? ANTHROPIC_VERSION, ...cfg.headers, ...(cfg.api_key ? { "x-api-key": cfg.api_key } : {}) },
      capabilities: CAPABILITIES,
      io: { extract: anthropicErrorOf, rateLimit: (res) => parseAnthropicRateLimit(res) },
      notFoundHint: "give base_url without /v1; llmpool adds /v1/messages",
    });
    this.defaultMaxTokens = cfg.default_max_tokens ?? FALLBACK_MAX_TOKENS;
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const prefill = trimmedPrefill(call.prefill);
    const body = buildAnthropicBody(call.request, call.model, { stream: false, defaultMaxTokens: this.defaultMaxTokens, prefill });
    const { res, rateLimit } = await this.send("POST", "/v1/messages", body, call.signal);
    const j = await this.json<AnthropicMessage>(res, call.signal);
    return anthropicResult(j, call.model, rateLimit, prefill);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const prefill = trimmedPrefill(call.prefill);
    const body = buildAnthropicBody(call.request, call.model, { stream: true, defaultMaxTokens: this.defaultMaxTokens, prefill });
    const { res, rateLimit } = await this.send("POST", "/v1/messages", body, call.signal);
    yield* pipeStream(this.name, res, call.signal, anthropicStream(res.body, this.streamContext(rateLimit), prefill));
  }

  /** One-model page of `/v1/models`: checks reachability and the key without spending tokens. */
  protected probePath(): string {
    return "/v1/models?limit=1";
  }

  /** `GET /v1/models`, paged by `after_id`. */
  protected modelsPath(after: string): string {
    return `/v1/models?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ""}`;
  }

  protected readModels(body: unknown): ModelPage {
    const j = body as { data?: { id: string }[]; has_more?: boolean; last_id?: string | null };
    return { ids: (j.data ?? []).map((m) => m.id), next: j.has_more && j.last_id ? j.last_id : undefined };
  }
}

export const anthropicAdapter = {
  validate(cfg: ProviderConfig): ConfigProblem[] {
    return cfg.api_key || cfg.base_url ? [] : [{ path: "api_key", message: "required for type anthropic" }];
  },
  create: (cfg: ProviderConfig): Provider => new AnthropicProvider(cfg),
};
