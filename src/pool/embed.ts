/**
 * Embed requests through the same lifecycle as chat: a plan over the embedding router's
 * routes, the strategy's picks, gates (breakers, rpm/tpm with the inputs' tokens, budgets),
 * retries and fallback, pricing and observers. The plan is built from a chat-shaped request
 * whose user messages are the inputs, so token estimates, affinity and tenant budgets read it
 * as they read a chat request; nothing is ever sent upstream from it.
 */
import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema, type ChatRequest, type Routing } from "../../gen/llmpool/v1/llmpool_pb.js";
import { invalidArgument, ProviderError } from "../core/errors.js";
import type { Attempts } from "./attempts.js";
import type { Plan } from "./plan.js";
import { estimateTokens } from "./tokens.js";
import type { CallContext } from "./types.js";

/** What the pool takes for one Embed request (the server validated its shape). */
export interface EmbedInput {
  model: string;
  inputs: string[];
  dimensions?: number;
  metadata: Record<string, string>;
  routing?: Routing;
}

export interface EmbedOutput {
  requestId: string;
  provider: string;
  model: string;
  vectors: number[][];
  promptTokens: number;
  estimated: boolean;
  attempts: number;
  latencyMs: number;
  costUsd: number;
  providersTried: string[];
}

/** The chat-shaped view of an Embed request that plans and gates read (maxTokens 0: input tokens only). */
export function planRequest(req: EmbedInput): ChatRequest {
  return create(ChatRequestSchema, {
    model: req.model,
    messages: req.inputs.map((content) => ({ role: "user", content })),
    maxTokens: 0,
    metadata: req.metadata,
    routing: req.routing,
  });
}

export function inputTokens(inputs: readonly string[]): number {
  let n = 0;
  for (const s of inputs) n += estimateTokens(s);
  return n;
}

/** Rejects inputs over `maxInputTokens` (estimated), naming the input. */
export function checkInputLimits(inputs: readonly string[], maxInputs: number, maxInputTokens: number): void {
  if (inputs.length === 0) throw invalidArgument("inputs", "at least one input is required");
  if (inputs.length > maxInputs) throw invalidArgument("inputs", `at most ${maxInputs} inputs per request (pool.embeddings.max_inputs), got ${inputs.length}`);
  for (let i = 0; i < inputs.length; i++) {
    const s = inputs[i]!;
    if (s.length === 0) throw invalidArgument(`inputs[${i}]`, "must not be empty");
    const t = estimateTokens(s);
    if (t > maxInputTokens) throw invalidArgument(`inputs[${i}]`, `about ${t} tokens, over the model's limit of ${maxInputTokens} (pool.embeddings.max_input_tokens)`);
  }
}

export async function runEmbed(attempts: Attempts, plan: Plan, req: EmbedInput, ctx: CallContext, now: () => number): Promise<EmbedOutput> {
  const r = plan.record;
  for (;;) {
    const at = await attempts.next(plan, ctx);
    try {
      const e = at.endpoint;
      if (!e.provider.embed) {
        throw new ProviderError({ provider: e.name, kind: "bad_request", message: `provider type ${e.type} offers no embeddings` });
      }
      const result = await e.provider.embed({ inputs: req.inputs, model: at.route.upstreamModel, dimensions: req.dimensions, signal: at.signal.signal, requestId: ctx.requestId });
      if (result.vectors.length !== req.inputs.length) {
        throw new ProviderError({ provider: e.name, kind: "invalid_response", message: `upstream returned ${result.vectors.length} vectors for ${req.inputs.length} inputs` });
      }
      const usage = attempts.settleUsage(plan, result.promptTokens === undefined ? undefined : { promptTokens: result.promptTokens, completionTokens: 0, cachedTokens: 0 }, "");
      const costUsd = attempts.costOf(e, at.route.upstreamModel, usage);
      attempts.end(plan, at, { ok: true, latencyMs: now() - at.started, usage, costUsd, rateLimit: result.rateLimit });
      r.usage = usage;
      r.costUsd = costUsd;
      r.finishReason = "stop";
      return {
        requestId: ctx.requestId,
        provider: e.name,
        model: result.model || at.route.upstreamModel,
        vectors: result.vectors,
        promptTokens: usage.promptTokens,
        estimated: usage.estimated,
        attempts: r.attempts,
        latencyMs: now() - r.startedAt,
        costUsd,
        providersTried: r.providersTried,
      };
    } catch (err) {
      attempts.continueAfter(plan, attempts.fail(plan, at, err, ctx));
    } finally {
      at.signal.done();
    }
  }
}
