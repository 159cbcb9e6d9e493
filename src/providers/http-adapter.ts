/**
 * The base of every HTTP adapter. It owns the connection pools and the lifecycle all adapters
 * share: model discovery (following pages), health probes (a 404 becomes a down verdict with a
 * base_url hint), warmup, close, and for every call the status -> ProviderError mapping and the
 * response size caps. A variant overrides only its wire format: `chat`/`stream`, where its
 * model listing lives and how a page of it reads, and (Bedrock) the headers each request needs.
 * The split follows undici's pool-base.js (lifecycle) and balanced-pool.js (one variant).
 *
 * A further operation (embeddings, say) is one more method in the variant built from the same
 * helpers: `send` (classified failures), `json` (capped read), `streamContext` (capped events).
 */
import type { Cancel } from "../util/cancel.js";
import type { ProviderConfig } from "../config/schema.js";
import type { ChatResult, Provider, ProviderCapabilities, RateLimitInfo, StreamEvent, UpstreamCall } from "../core/provider.js";
import { ProviderError } from "../core/errors.js";
import { resolveCapabilities } from "./common.js";
import { HttpUpstream, readJson, send, type ResponseData, type SendOptions } from "./http.js";
import type { StreamContext } from "./stream.js";

export interface HttpAdapterOptions {
  cfg: ProviderConfig;
  /** Used when the config sets no `base_url`. */
  defaultBaseUrl: string;
  /** Headers sent with every call: the adapter's defaults, the config's `headers:`, auth. */
  headers: Record<string, string>;
  /** The adapter's capabilities before the config's `capabilities:` overrides. */
  capabilities: ProviderCapabilities;
  /** How error bodies and rate-limit headers read (default: OpenAI-style). */
  io?: SendOptions;
  /** Added to the error of a probe answered 404: what in `base_url` is likely wrong. */
  notFoundHint: string;
}

/** One page of a model listing: its model ids and the next page's cursor (none: last page). */
export interface ModelPage {
  ids: string[];
  next?: string;
}

/** Pages of a model listing followed at most (a runaway cursor must not loop forever). */
const MAX_MODEL_PAGES = 20;

export abstract class HttpAdapter implements Provider {
  readonly name: string;
  abstract readonly type: string;
  readonly capabilities: ProviderCapabilities;
  /** The data-plane connection pool size (`connections`): calls beyond it would queue in undici. */
  readonly capacity: number;
  /** The data plane: chat and stream calls. */
  protected readonly http: HttpUpstream;
  /** Where discovery and probes go (the data plane unless a variant has a control plane). */
  protected control: HttpUpstream;
  protected readonly io: SendOptions;
  protected readonly maxResponseBytes: number;
  protected readonly maxEventBytes: number;
  private readonly cfg: ProviderConfig;
  private readonly notFoundHint: string;
  private readonly upstreams: HttpUpstream[] = [];

  constructor(o: HttpAdapterOptions) {
    this.cfg = o.cfg;
    this.name = o.cfg.name;
    this.capabilities = resolveCapabilities(o.cfg, o.capabilities);
    this.capacity = o.cfg.connections;
    this.io = o.io ?? {};
    this.maxResponseBytes = o.cfg.max_response_bytes;
    this.maxEventBytes = o.cfg.max_stream_event_bytes;
    this.notFoundHint = o.notFoundHint;
    this.http = this.open(o.cfg.base_url ?? o.defaultBaseUrl, o.headers);
    this.control = this.http;
  }

  abstract chat(call: UpstreamCall): Promise<ChatResult>;
  abstract stream(call: UpstreamCall): AsyncIterable<StreamEvent>;

  /** A cheap authenticated GET: what probes and warmup request. */
  protected abstract probePath(): string;
  /** The path of one page of the model listing; `cursor` is "" for the first page. */
  protected abstract modelsPath(cursor: string): string;
  /** The models on one listing page (a parsed JSON body) and the next page's cursor. */
  protected abstract readModels(body: unknown): ModelPage;

  /** Headers one request needs besides the fixed ones (Bedrock signs each request). */
  protected requestHeaders(_up: HttpUpstream, _method: string, _path: string, _body: string | undefined): Record<string, string> | undefined {
    return undefined;
  }

  /** Open another connection pool (closed with the adapter); `connections` defaults to the config's. */
  protected open(baseUrl: string, headers: Record<string, string>, connections = this.cfg.connections): HttpUpstream {
    const up = new HttpUpstream({
      provider: this.name,
      baseUrl,
      connections,
      connectTimeoutMs: this.cfg.connect_timeout_ms,
      headers,
    });
    this.upstreams.push(up);
    return up;
  }

  /** Send a request; any non-2xx status leaves as a classified ProviderError. */
  protected send(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    signal: Cancel,
    up: HttpUpstream = this.http,
    headers?: Record<string, string>,
  ): Promise<{ res: ResponseData; rateLimit?: RateLimitInfo }> {
    const own = this.requestHeaders(up, method, path, body);
    const extra = own && headers ? { ...own, ...headers } : (own ?? headers);
    return send(up, method, path, body, signal, extra ? { ...this.io, headers: extra } : this.io);
  }

  /** A 2xx JSON body, at most `max_response_bytes`. */
  protected json<T>(res: ResponseData, signal: Cancel): Promise<T> {
    return readJson<T>(this.name, res, signal, this.maxResponseBytes);
  }

  /** GET a JSON document from the control plane. */
  protected async getJson<T>(path: string, signal: Cancel): Promise<T> {
    const { res } = await this.send("GET", path, undefined, signal, this.control);
    return this.json<T>(res, signal);
  }

  /** What a stream parser needs: the provider, the response's rate limits, the event cap. */
  protected streamContext(rateLimit: RateLimitInfo | undefined): StreamContext {
    return { provider: this.name, rateLimit, maxEventBytes: this.maxEventBytes };
  }

  /** Model discovery: the listing's pages, followed. */
  async listModels(signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let cursor = "";
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const { ids, next } = this.readModels(await this.getJson<unknown>(this.modelsPath(cursor), signal));
      for (const id of ids) out.push(id);
      if (!next) break;
      cursor = next;
    }
    return out;
  }

  /**
   * The health probe. A 404 means `base_url` points at the wrong place (a server that is up
   * but will never serve these paths), so it is a failure that takes the provider out of
   * rotation, with a hint, rather than the pass other refusals count as.
   */
  async probe(signal: AbortSignal): Promise<void> {
    const path = this.probePath();
    try {
      const { res } = await this.send("GET", path, undefined, signal, this.control);
      await res.body.dump();
    } catch (err) {
      if (!(err instanceof ProviderError) || err.status !== 404) throw err;
      throw new ProviderError({
        provider: this.name,
        kind: "invalid_response",
        status: 404,
        message: `health check GET ${path.split("?")[0]} found nothing (${this.notFoundHint}): ${err.message}`,
      });
    }
  }

  /** Open a data-plane connection ahead of the first call. */
  async warmup(signal: AbortSignal): Promise<void> {
    await this.http.warmup(this.probePath(), signal);
  }

  async close(): Promise<void> {
    await Promise.all(this.upstreams.map((up) => up.close()));
  }
}
