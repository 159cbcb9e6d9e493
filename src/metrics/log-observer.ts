/**
 * One structured log line per request: id, provider, attempts, latency, tokens, cost, outcome.
 */
import type { Logger } from "../util/logger.js";
import type { PoolObserver, RequestRecord } from "../pool/observer.js";
import type { EndpointView, PickContext, Strategy } from "../balancer/strategy.js";

export function createLogObserver(logger: Logger): PoolObserver {
  return {
    // Selection decisions at debug level: who was eligible, each one's score, who was picked.
    picked(r: RequestRecord, candidates: readonly EndpointView[], chosen: EndpointView, strategy: Strategy, ctx: PickContext) {
      if (!logger.isLevelEnabled("debug")) return;
      const scores = strategy.scores?.(candidates, ctx);
      logger.debug(
        {
          request_id: r.requestId,
          strategy: strategy.name,
          attempt: ctx.attempt,
          chosen: chosen.name,
          candidates: candidates.map((c, i) => ({
            name: c.name,
            score: scores ? Math.round(scores[i]! * 1e6) / 1e6 : undefined,
            in_flight: c.inFlight,
            ewma_ms: Math.round(c.ewmaLatencyMs * 10) / 10,
            error_rate: Math.round(c.errorRate * 1000) / 1000,
          })),
        },
        "selection",
      );
    },
    requestEnded(r: RequestRecord) {
      const line = {
        request_id: r.requestId,
        kind: r.kind,
        model: r.model,
        tenant: r.tenant || undefined,
        provider: r.provider || undefined,
        providers_tried: r.providersTried.length > 1 ? r.providersTried : undefined,
        attempts: r.attempts,
        upstream_calls: r.upstreamCalls,
        latency_ms: Math.round(r.latencyMs * 100) / 100,
        ttft_ms: r.ttftMs === undefined ? undefined : Math.round(r.ttftMs * 100) / 100,
        prompt_tokens: r.usage?.promptTokens,
        completion_tokens: r.usage?.completionTokens,
        cost_usd: r.costUsd || undefined,
        finish_reason: r.finishReason,
        outcome: r.error ? r.error.code : "ok",
        error: r.error?.message,
      };
      if (r.error && r.error.code !== "canceled" && r.error.code !== "invalid_argument") logger.warn(line, "request failed");
      else logger.info(line, "request");
    },
  };
}
