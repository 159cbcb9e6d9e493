/**
 * Structured request logs: one line per call (request id, provider, attempts, latency,
 * tokens, cost, outcome), and at debug level one line per selection decision with every
 * candidate and the strategy's score for it.
 */
import { roundMs, roundUsd } from "../core/round.js";
import type { EndpointView, PickContext, Strategy } from "../balancer/strategy.js";
import type { Logger } from "../util/logger.js";
import type { PoolObserver } from "../pool/observer.js";
import type { RequestRecord } from "../core/outcome.js";

const round = (v: number, places = 2) => {
  const f = 10 ** places;
  return Math.round(v * f) / f;
};

/** One candidate as a selection log shows it. */
function candidate(v: EndpointView, score: number | undefined, stream: boolean) {
  return {
    provider: v.name,
    score: score === undefined || !Number.isFinite(score) ? null : round(score, 4),
    in_flight: v.inFlight,
    ewma_ms: roundMs(stream ? v.ewmaTtftMs : v.ewmaLatencyMs),
    error_rate: round(v.errorRate, 4),
    weight: v.weight,
    priority: v.priority,
  };
}

export function createLogObserver(logger: Logger): PoolObserver {
  return {
    picked(r: RequestRecord, candidates: readonly EndpointView[], chosen: EndpointView, strategy: Strategy, ctx: PickContext) {
      if (!logger.isLevelEnabled("debug")) return;
      let scores: number[] | undefined;
      try {
        scores = strategy.scores?.(candidates, ctx);
      } catch {
        scores = undefined; // a scoring bug must never fail the request
      }
      logger.debug(
        {
          request_id: r.requestId,
          model: r.model,
          strategy: strategy.name,
          attempt: ctx.attempt,
          chosen: chosen.name,
          candidates: candidates.map((c, i) => candidate(c, scores?.[i], ctx.stream)),
        },
        "selection",
      );
    },
    requestEnded(r: RequestRecord) {
      const failed = r.error !== undefined && r.error.code !== "canceled" && r.error.code !== "invalid_argument";
      if (!logger.isLevelEnabled(failed ? "warn" : "info")) return;
      const line = {
        request_id: r.requestId,
        kind: r.kind,
        model: r.model,
        tenant: r.tenant || undefined,
        provider: r.provider || undefined,
        providers_tried: r.providersTried.length > 1 ? r.providersTried : undefined,
        attempts: r.attempts,
        retries: r.retries || undefined,
        fallbacks: r.fallbacks || undefined,
        upstream_calls: r.upstreamCalls,
        latency_ms: roundMs(r.latencyMs),
        ttft_ms: r.ttftMs === undefined ? undefined : roundMs(r.ttftMs),
        prompt_tokens: r.usage?.promptTokens,
        completion_tokens: r.usage?.completionTokens,
        cached_tokens: r.usage?.cachedTokens || undefined,
        tokens_estimated: r.usage?.estimated || undefined,
        cost_usd: r.usage ? roundUsd(r.costUsd) : undefined,
        finish_reason: r.finishReason,
        outcome: r.error ? r.error.code : "ok",
        error: r.error?.message,
      };
      if (failed) logger.warn(line, "request failed");
      else logger.info(line, "request");
    },
  };
}
