/**
 * The provider contract: one neutral request in, one neutral result (or a stream of neutral
 * events) out. An adapter maps it to and from one wire protocol and classifies every failure;
 * it knows nothing of balancing, retries or other providers.
 */
import type { Cancel } from "../util/cancel.js";
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";

/** Normalised finish reasons (the raw upstream value travels beside it). */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "error";

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the provider's prompt cache (part of promptTokens). */
  cachedTokens: number;
}

export interface ToolCallOut {
  id: string;
  name: string;
  /** JSON text as generated. */
  arguments: string;
}

export interface ToolCallDeltaOut {
  index: number;
  id?: string;
  name?: string;
  argumentsDelta?: string;
}

/** What the upstream's rate-limit headers said (any field may be missing). */
export interface RateLimitInfo {
  limitRequests?: number;
  remainingRequests?: number;
  /** Milliseconds until the request budget resets. */
  resetRequestsMs?: number;
  limitTokens?: number;
  remainingTokens?: number;
  resetTokensMs?: number;
}

export interface ChatResult {
  id: string;
  /** The model that answered, as the upstream names it. */
  model: string;
  content: string;
  toolCalls: ToolCallOut[];
  finishReason: FinishReason;
  rawFinishReason: string;
  /** Undefined when the upstream reported no usage (the pool then estimates it). */
  usage?: TokenUsage;
  rateLimit?: RateLimitInfo;
  /** Set by composite providers: the member that answered (innermost) and its upstream model. */
  servedBy?: ServedBy;
}

/** Which configured provider really answered a composite's call, for pricing and `served_by`. */
export interface ServedBy {
  /** The innermost member that answered. */
  provider: string;
  model: string;
  /** The composite path below the composite that reports it, ending with `provider`: ["pc"]
   * for a member, ["inner", "pc"] through a nested composite. */
  path: readonly string[];
}

/**
 * One parsed piece of an upstream stream. Any field may be set; `finishReason` and `usage`
 * usually arrive at the end (and may arrive in separate events).
 */
export interface StreamEvent {
  id?: string;
  model?: string;
  delta?: string;
  toolCalls?: ToolCallDeltaOut[];
  finishReason?: FinishReason;
  rawFinishReason?: string;
  usage?: TokenUsage;
  rateLimit?: RateLimitInfo;
  /** Set by composite providers on the first event they pass on (see ChatResult.servedBy). */
  servedBy?: ServedBy;
}

export interface UpstreamCall {
  /** The caller's request, already validated. */
  request: ChatRequest;
  /** The upstream's name for the requested model. */
  model: string;
  /** Aborts the upstream call (client cancel, deadline, attempt timeout). */
  signal: Cancel;
  requestId: string;
  /**
   * Assistant text already delivered to the caller by an earlier provider: the adapter sends
   * it as an assistant prefill so this provider continues the answer (stream resume).
   */
  prefill?: string;
}

/** One embeddings call: texts in, one vector per text out. */
export interface EmbedCall {
  /** The texts, already validated (non-empty list, each within the model's limit). */
  inputs: string[];
  /** The upstream's name for the embedding model. */
  model: string;
  /** Requested vector length, for models that can shorten theirs. */
  dimensions?: number;
  signal: Cancel;
  requestId: string;
}

export interface EmbedResult {
  /** One vector per input, in input order. */
  vectors: number[][];
  /** The model that answered, as the upstream names it. */
  model: string;
  /** Input tokens, when the upstream reports them (else the pool estimates). */
  promptTokens?: number;
  rateLimit?: RateLimitInfo;
}

export interface ProviderCapabilities {
  vision: boolean;
  tools: boolean;
  /**
   * Whether images may be given as http(s) URLs (false: only inline bytes or `data:` URLs;
   * the pool then routes URL images elsewhere). Undefined means true when `vision` is.
   */
  imageUrls?: boolean;
  /** Context window in tokens; 0 when unknown. */
  contextWindow: number;
  /**
   * Whether the upstream continues an assistant prefill (the last message, role assistant)
   * instead of starting a new answer, so a stream can be resumed on it. Undefined means false.
   */
  prefill?: boolean;
}

export interface Provider {
  readonly name: string;
  readonly type: string;
  readonly capabilities: ProviderCapabilities;
  /**
   * Upstream calls this provider can have in flight at once (its HTTP connection pool size);
   * undefined means unbounded. Calls beyond it would wait inside the HTTP client.
   */
  readonly capacity?: number;
  chat(call: UpstreamCall): Promise<ChatResult>;
  stream(call: UpstreamCall): AsyncIterable<StreamEvent>;
  /** Embeddings, for adapters whose upstream offers them (`embedding_models`). */
  embed?(call: EmbedCall): Promise<EmbedResult>;
  /** Model names the upstream offers (model discovery). */
  listModels?(signal: AbortSignal): Promise<string[]>;
  /** A cheap liveness check against the upstream; throws a ProviderError when unhealthy. */
  probe?(signal: AbortSignal): Promise<void>;
  /** Open keep-alive connections ahead of the first request. */
  warmup?(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
