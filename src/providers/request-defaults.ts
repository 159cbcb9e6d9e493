/**
 * A provider's `default_temperature` / `default_max_tokens`: sampling settings sent upstream
 * when the caller's request sets none. They are applied per upstream call on a shallow copy of
 * the request, never on the caller's request itself: the same request object goes to every
 * attempt (fallback, retries, racing), and another provider must see what the caller sent.
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { ProviderConfig } from "../config/schema.js";
import type { Provider, UpstreamCall } from "../core/provider.js";

export interface RequestDefaults {
  temperature?: number;
  maxTokens?: number;
}

/** The request as sent to this provider: the caller's own when no default applies (no copy). */
export function applyRequestDefaults(req: ChatRequest, d: RequestDefaults): ChatRequest {
  const temperature = req.temperature === undefined ? d.temperature : undefined;
  const maxTokens = req.maxTokens === undefined ? d.maxTokens : undefined;
  if (temperature === undefined && maxTokens === undefined) return req;
  const out: ChatRequest = { ...req };
  if (temperature !== undefined) out.temperature = temperature;
  if (maxTokens !== undefined) out.maxTokens = maxTokens;
  return out;
}

/**
 * Make `p` apply the config's defaults to every chat and stream call. A provider with no
 * defaults is returned untouched, so the common case costs nothing per call.
 */
export function withRequestDefaults(p: Provider, cfg: ProviderConfig): Provider {
  const d: RequestDefaults = { temperature: cfg.default_temperature, maxTokens: cfg.default_max_tokens };
  if (d.temperature === undefined && d.maxTokens === undefined) return p;
  const chat = p.chat.bind(p);
  const stream = p.stream.bind(p);
  const fill = (call: UpstreamCall): UpstreamCall => {
    const request = applyRequestDefaults(call.request, d);
    return request === call.request ? call : { ...call, request };
  };
  p.chat = (call) => chat(fill(call));
  p.stream = (call) => stream(fill(call));
  return p;
}
