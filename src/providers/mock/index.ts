/**
 * The `mock` provider: answers locally with configurable latency, jitter, failure rate and
 * reply, for demos, tests and watching the balancer work without any API key.
 */
import type { MockConfig, ProviderConfig } from "../../config/schema.js";
import { createHash } from "node:crypto";
import { type ChatResult, type EmbedCall, type EmbedResult, type Provider, type ProviderCapabilities, type StreamEvent, type UpstreamCall } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";
import { resolveCapabilities } from "../common.js";
import { estimateTokens } from "../../pool/tokens.js";
import { delay } from "../../util/clock.js";
import { systemClock } from "../../util/clock.js";

const MOCK_DEFAULTS: MockConfig = {
  latency_ms: 20,
  jitter_ms: 0,
  failure_rate: 0,
  reply: "This is {provider}, a mock provider. You said: {prompt}",
  chunk_delay_ms: 5,
  words_per_chunk: 2,
};

/** mulberry32: a tiny seeded PRNG, so a seeded mock fails on the same calls every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class MockProvider implements Provider {
  readonly name: string;
  readonly type = "mock";
  readonly capabilities: ProviderCapabilities;
  private readonly cfg: MockConfig;
  private readonly random: () => number;
  private seq = 0;

  constructor(cfg: ProviderConfig) {
    this.name = cfg.name;
    this.cfg = { ...MOCK_DEFAULTS, ...cfg.mock };
    this.random = this.cfg.seed === undefined ? Math.random : seeded(this.cfg.seed);
    this.capabilities = resolveCapabilities(cfg, { vision: true, tools: false, contextWindow: 0, prefill: true });
  }

  /** The reply, cut to max_tokens words when the caller set it. */
  private reply(call: UpstreamCall): { text: string; truncated: boolean } {
    const lastUser = call.request.messages.findLast((m) => m.role === "user");
    const prompt = lastUser?.content ?? "";
    const text = this.cfg.reply.replaceAll("{provider}", this.name).replaceAll("{prompt}", prompt);
    const limit = call.request.maxTokens;
    const words = text.split(" ");
    if (limit === undefined || words.length <= limit) return { text, truncated: false };
    return { text: words.slice(0, limit).join(" "), truncated: true };
  }

  private async begin(call: Pick<UpstreamCall, "signal">): Promise<void> {
    const latency = this.cfg.latency_ms + this.random() * this.cfg.jitter_ms;
    try {
      await delay(latency, call.signal, systemClock);
    } catch (reason) {
      throw this.abortError(reason);
    }
    if (this.cfg.failure_rate > 0 && this.random() < this.cfg.failure_rate) {
      throw new ProviderError({
        provider: this.name,
        kind: "overloaded",
        status: 503,
        message: "mock failure (failure_rate)",
      });
    }
  }

  private abortError(reason: unknown): ProviderError {
    const timedOut = reason instanceof Error && reason.name === "TimeoutError";
    if (reason instanceof ProviderError) return reason;
    return new ProviderError({
      provider: this.name,
      kind: timedOut ? "timeout" : "canceled",
      message: timedOut ? "attempt timed out" : "request canceled",
    });
  }

  private usage(call: UpstreamCall, text: string) {
    let prompt = 0;
    for (const m of call.request.messages) prompt += estimateTokens(m.content) + 4;
    return { promptTokens: prompt, completionTokens: estimateTokens(text), cachedTokens: 0 };
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    await this.begin(call);
    const { text, truncated } = this.reply(call);
    return {
      id: `mock-${this.name}-${++this.seq}`,
      model: call.model,
      content: text,
      toolCalls: [],
      finishReason: truncated ? "length" : "stop",
      rawFinishReason: truncated ? "length" : "stop",
      usage: this.usage(call, text),
    };
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    await this.begin(call);
    const { text, truncated } = this.reply(call);
    const words = text.split(/(?<= )/);
    const id = `mock-${this.name}-${++this.seq}`;
    for (let i = 0; i < words.length; i += this.cfg.words_per_chunk) {
      if (i > 0) {
        try {
          await delay(this.cfg.chunk_delay_ms, call.signal, systemClock);
        } catch (reason) {
          throw this.abortError(reason);
        }
      }
      const delta = words.slice(i, i + this.cfg.words_per_chunk).join("");
      yield i === 0 ? { id, model: call.model, delta } : { delta };
    }
    const finish = truncated ? "length" : "stop";
    yield { finishReason: finish, rawFinishReason: finish, usage: this.usage(call, text) };
  }

  /** A deterministic unit vector per text (sha256-seeded), `dimensions` long (default 8). */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    await this.begin(call);
    const n = call.dimensions ?? 8;
    let tokens = 0;
    const vectors = call.inputs.map((text) => {
      tokens += estimateTokens(text);
      const next = seeded(createHash("sha256").update(text).digest().readUInt32LE(0));
      const v = Array.from({ length: n }, () => next() * 2 - 1);
      const norm = Math.hypot(...v) || 1;
      return v.map((x) => x / norm);
    });
    return { vectors, model: call.model, promptTokens: tokens };
  }

  async listModels(): Promise<string[]> {
    return [];
  }

  async probe(): Promise<void> {}

  async close(): Promise<void> {}
}
