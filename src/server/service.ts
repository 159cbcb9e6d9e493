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
  type EmbedRequest,
  type EmbedResponseSchema,
  type StreamChatResponseSchema,
} from "../../gen/llmpool/v1/llmpool_pb.js";
import type { ContextKey } from "@connectrpc/connect";
import type { CallContext, Pool } from "../pool/pool.js";
import type { RequestLimits } from "../config/schema.js";
import { buildHealth, buildModelList, buildPoolStats, type StatsSources } from "../metrics/stats.js";
import { toConnectError } from "./errors.js";
import { validateChatRequest } from "./validate.js";
import { invalidArgument } from "../core/errors.js";
import { ANONYMOUS, CALLER } from "./auth.js";
import type { Cancel } from "../util/cancel.js";
import type { CallerPolicy, KeyReservation } from "./caller-policy.js";

export interface ServiceOptions {
  pool: () => Pool;
  /** True while the server drains for shutdown: Health reports NOT_SERVING. */
  draining?: () => boolean;
  /** Cost totals and budgets for GetPoolStats and Health. */
  stats?: StatsSources;
  /** What each caller's key decides (tenant, priority, models, rpm/tpm); none = no policy. */
  callers?: CallerPolicy;
  /** Caps on the request's shape (server.limits). */
  limits?: () => RequestLimits;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What the service needs of a call: connect's HandlerContext, or the fast path's own. */
export interface CallHeaders {
  readonly requestHeader: { get(name: string): string | null };
  readonly responseHeader: { set(name: string, value: string): void };
  readonly signal: Cancel;
  /** Time left before the caller's deadline, ms; undefined without one. */
  timeoutMs(): number | undefined;
  /** Per-call values: CALLER (auth.ts) is the authenticated caller. */
  readonly values?: { get<T>(key: ContextKey<T>): T };
}

/** Validate, then let the caller's key bind and limit the call. */
function admit(opts: ServiceOptions, req: ChatRequest | EmbedRequest, ctx: CallHeaders): KeyReservation | undefined | Promise<KeyReservation | undefined> {
  if (req.$typeName === "llmpool.v1.ChatRequest") validateChatRequest(req, opts.limits?.());
  return opts.callers?.admit(ctx.values?.get(CALLER) ?? ANONYMOUS, req);
}

/** Validate and apply the caller's policy to a request answered without the pool (a cache hit: no tokens). */
export async function admitFree(opts: ServiceOptions, req: ChatRequest, ctx: CallHeaders): Promise<void> {
  try {
    const r = await admit(opts, req, ctx);
    if (r) opts.callers!.settle(r, 0);
  } catch (err) {
    throw toConnectError(err);
  }
}

function callContext(ctx: CallHeaders): CallContext {
  const given = ctx.requestHeader.get("x-request-id");
  const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
  ctx.responseHeader.set("x-request-id", requestId);
  const preferred = ctx.requestHeader.get("x-llmpool-provider");
  return {
    signal: ctx.signal,
    requestId,
    preferredProvider: preferred || undefined,
    timeoutMs: ctx.timeoutMs(),
    traceparent: ctx.requestHeader.get("traceparent") ?? undefined,
    tracestate: ctx.requestHeader.get("tracestate") ?? undefined,
  };
}

export function createLLMPoolService(opts: ServiceOptions): ServiceImpl<typeof LLMPool> {
  return {
    async chat(req: ChatRequest, ctx: CallHeaders): Promise<MessageInitShape<typeof ChatResponseSchema>> {
      const call = callContext(ctx);
      let reservation: KeyReservation | undefined;
      let used = 0;
      try {
        const r = admit(opts, req, ctx);
        reservation = r instanceof Promise ? await r : r;
        const out = await opts.pool().chat(req, call);
        used = out.usage.promptTokens + out.usage.completionTokens;
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
          servedBy: out.servedBy,
        };
      } catch (err) {
        throw toConnectError(err);
      } finally {
        if (reservation) opts.callers!.settle(reservation, used);
      }
    },

    async *streamChat(
      req: ChatRequest,
      ctx: CallHeaders,
    ): AsyncGenerator<MessageInitShape<typeof StreamChatResponseSchema>> {
      const call = callContext(ctx);
      let reservation: KeyReservation | undefined;
      let used = 0;
      try {
        const r = admit(opts, req, ctx);
        reservation = r instanceof Promise ? await r : r;
        if (!reservation) {
          yield* opts.pool().stream(req, call);
          return;
        }
        for await (const chunk of opts.pool().stream(req, call)) {
          if (chunk.usage) used = chunk.usage.promptTokens + chunk.usage.completionTokens;
          yield chunk;
        }
      } catch (err) {
        throw toConnectError(err);
      } finally {
        if (reservation) opts.callers!.settle(reservation, used);
      }
    },

    async embed(req: EmbedRequest, ctx: CallHeaders): Promise<MessageInitShape<typeof EmbedResponseSchema>> {
      const call = callContext(ctx);
      let reservation: KeyReservation | undefined;
      let used = 0;
      try {
        if (req.model.length > 256) throw invalidArgument("model", "at most 256 characters");
        if (req.dimensions !== undefined && req.dimensions < 1) throw invalidArgument("dimensions", `must be >= 1, got ${req.dimensions}`);
        const r = admit(opts, req, ctx);
        reservation = r instanceof Promise ? await r : r;
        const out = await opts.pool().embed(
          { model: req.model, inputs: req.inputs, dimensions: req.dimensions, metadata: req.metadata, routing: req.routing },
          call,
        );
        used = out.promptTokens;
        ctx.responseHeader.set("x-llmpool-provider", out.provider);
        return {
          embeddings: out.vectors.map((values, index) => ({ values, index })),
          usage: { promptTokens: out.promptTokens, completionTokens: 0, totalTokens: out.promptTokens, estimated: out.estimated },
          provider: out.provider,
          costUsd: out.costUsd,
          model: out.model,
          attempts: out.attempts,
          latencyMs: out.latencyMs,
          requestId: out.requestId,
          providersTried: out.providersTried,
        };
      } catch (err) {
        throw toConnectError(err);
      } finally {
        if (reservation) opts.callers!.settle(reservation, used);
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
