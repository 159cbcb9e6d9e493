/**
 * The llmpool.v1.LLMPool service: validate, hand to the pool, map the result. No logic of its
 * own beyond the mapping.
 */
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { randomUUID } from "node:crypto";
import {
  LLMPool,
  type ChatRequest,
  type ChatResponseSchema,
  type StreamChatResponseSchema,
} from "../../gen/llmpool/v1/llmpool_pb.js";
import type { CallContext, Pool } from "../pool/pool.js";
import { buildHealth, buildModelList, buildPoolStats, type StatsSources } from "../metrics/stats.js";
import { toConnectError } from "./errors.js";
import { validateChatRequest } from "./validate.js";

export interface ServiceOptions {
  pool: () => Pool;
  /** True while the server drains for shutdown: Health reports NOT_SERVING. */
  draining?: () => boolean;
  /** Cost totals and budgets for GetPoolStats and Health. */
  stats?: StatsSources;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What the service needs of a call: connect's HandlerContext, or the fast path's own. */
export interface CallHeaders {
  readonly requestHeader: { get(name: string): string | null };
  readonly responseHeader: { set(name: string, value: string): void };
  readonly signal: AbortSignal;
  /** Time left before the caller's deadline, ms; undefined without one. */
  timeoutMs(): number | undefined;
}

function callContext(ctx: CallHeaders): CallContext {
  const given = ctx.requestHeader.get("x-request-id");
  const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
  ctx.responseHeader.set("x-request-id", requestId);
  const preferred = ctx.requestHeader.get("x-llmpool-provider");
  return { signal: ctx.signal, requestId, preferredProvider: preferred || undefined, timeoutMs: ctx.timeoutMs() };
}

export function createLLMPoolService(opts: ServiceOptions): ServiceImpl<typeof LLMPool> {
  return {
    async chat(req: ChatRequest, ctx: CallHeaders): Promise<MessageInitShape<typeof ChatResponseSchema>> {
      const call = callContext(ctx);
      try {
        validateChatRequest(req);
        const out = await opts.pool().chat(req, call);
        const res = out.result;
        ctx.responseHeader.set("x-llmpool-provider", out.provider);
        return {
          id: res.id || out.requestId,
          model: res.model,
          message: {
            role: "assistant",
            content: res.content,
            toolCalls: res.toolCalls,
          },
          finishReason: res.finishReason,
          rawFinishReason: res.rawFinishReason,
          usage: {
            promptTokens: out.usage.promptTokens,
            completionTokens: out.usage.completionTokens,
            totalTokens: out.usage.promptTokens + out.usage.completionTokens,
            cachedTokens: out.usage.cachedTokens,
            estimated: out.usage.estimated,
          },
          provider: out.provider,
          attempts: out.attempts,
          latencyMs: out.latencyMs,
          costUsd: out.costUsd,
          requestId: out.requestId,
          upstreamCalls: out.upstreamCalls,
          providersTried: out.providersTried,
        };
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async *streamChat(
      req: ChatRequest,
      ctx: CallHeaders,
    ): AsyncGenerator<MessageInitShape<typeof StreamChatResponseSchema>> {
      const call = callContext(ctx);
      try {
        validateChatRequest(req);
        yield* opts.pool().stream(req, call);
      } catch (err) {
        throw toConnectError(err);
      }
    },

    listModels(req) {
      return buildModelList(opts.pool(), req.provider);
    },

    async getPoolStats(req) {
      try {
        await opts.stats?.refresh?.();
        return buildPoolStats(opts.pool(), req.providers, opts.stats);
      } catch (err) {
        throw toConnectError(err);
      }
    },

    health(req) {
      try {
        return buildHealth(opts.pool(), req.model, opts.draining?.() ?? false, opts.stats);
      } catch (err) {
        throw toConnectError(err);
      }
    },
  };
}

export function registerLLMPool(router: ConnectRouter, impl: ServiceImpl<typeof LLMPool>): void {
  router.service(LLMPool, impl);
}
