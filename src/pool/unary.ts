/**
 * The Chat attempt loop: take the next attempt (attempts.ts chooses, waits and backs off),
 * call the provider (or race legs of the first attempt, src/balancer/race-runner.ts), settle
 * usage and cost, and on a failure let the retry policy decide whether another attempt follows.
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import { raceChat } from "../balancer/race-runner.js";
import type { ChatResult } from "../core/provider.js";
import { roundMs } from "../core/round.js";
import type { Clock } from "../util/clock.js";
import type { Attempts } from "./attempts.js";
import type { Plan } from "./plan.js";
import { servedByPath, type CallContext, type ChatOutput } from "./types.js";

export async function runChat(attempts: Attempts, plan: Plan, req: ChatRequest, ctx: CallContext, clock: Clock): Promise<ChatOutput> {
  const r = plan.record;
  for (;;) {
    const next = attempts.next(plan, ctx);
    let at = next instanceof Promise ? await next : next;
    try {
      let result: ChatResult;
      let answeredMs: number | undefined;
      if (plan.strategy.race && plan.pick.attempt === 1) {
        // Racing and hedging (src/balancer/race-runner.ts): extra legs of this first attempt; the
        // winner goes on below, losers are aborted and recorded by the race host.
        const won = await raceChat(plan.strategy.race, attempts.raceHost(plan, ctx), { candidate: at, attempt: at.signal, started: at.started }, plan.pick, (a, signal) =>
          a.endpoint.provider.chat({ request: req, model: a.route.upstreamModel, signal: attempts.alias(signal, plan), requestId: ctx.requestId }),
        );
        at = won.leg.candidate;
        r.provider = at.endpoint.name;
        result = won.result;
        answeredMs = won.latencyMs;
      } else {
        result = await at.endpoint.provider.chat({
          request: req,
          model: at.route.upstreamModel,
          signal: at.signal.signal,
          requestId: ctx.requestId,
        });
      }
      const e = at.endpoint;
      const latencyMs = answeredMs ?? clock.now() - at.started;
      const usage = attempts.settleUsage(plan, result.usage, result.content);
      const costUsd = attempts.costOf(e, at.route.upstreamModel, usage, result.servedBy);
      attempts.end(plan, at, { ok: true, latencyMs, usage, costUsd, rateLimit: result.rateLimit });
      r.usage = usage;
      r.costUsd = costUsd;
      r.finishReason = result.finishReason;
      return {
        requestId: ctx.requestId,
        // The member that answered, for a composite (served_by has the path to it).
        provider: result.servedBy?.provider ?? e.name,
        servedBy: servedByPath(e.name, result.servedBy),
        result,
        usage,
        attempts: r.attempts,
        upstreamCalls: r.upstreamCalls,
        latencyMs: roundMs(clock.now() - r.startedAt),
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
