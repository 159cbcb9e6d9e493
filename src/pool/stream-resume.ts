/**
 * The streaming attempt loop. Before its first token a failing or silent stream fails over
 * transparently (the caller sees nothing of it). After the first token:
 *  - a stall is no chunk for `stall_factor` × the provider's recent mean gap between chunks
 *    (clamped to [stall_min_ms, stall_max_ms]); the attempt is aborted as if it had failed;
 *  - the request moves to the next provider (fallback policy, max_retries and retry budget
 *    apply) as `pool.stream.on_break` says:
 *    - `resume`: a provider that can continue an assistant prefill (capabilities.prefill) gets
 *      the text delivered so far as one and the stream goes on: one chunk with `failover` set
 *      (attempt, offset in Unicode code points, from/to provider, reason) and an empty delta,
 *      then the new provider's deltas; a continuation that repeats the delivered text has the
 *      repeat dropped, one that cannot be spliced restarts (continuation.ts). Any other
 *      provider, or a break after tool-call fragments, restarts the answer;
 *    - `restart`: one chunk with `restart` set (the client discards what it received), then
 *      the new provider's whole answer;
 *    - `fail`, or when no provider can take it: the stream ends with UNAVAILABLE saying how
 *      much was delivered and why. Never a silent truncation or a garbled splice.
 */
import { roundMs, roundUsd } from "../core/round.js";
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import { raceStream } from "../balancer/race-runner.js";
import { type FinishReason, type ServedBy, type StreamEvent, type TokenUsage } from "../core/provider.js";
import { ProviderError } from "../core/errors.js";
import type { Attempt } from "./attempts.js";
import { StallWatch } from "./stall-watch.js";
import type { Attempts } from "./attempts.js";
import type { Endpoint } from "./endpoint.js";
import type { CallOutcome } from "../core/outcome.js";
import { PoolError } from "../core/errors.js";
import type { Plan } from "./plan.js";
import { servedByPath, type CallContext, type StreamChunkOut } from "./types.js";
import { Continuation } from "./continuation.js";
import type { PoolConfig } from "../config/schema.js";

/** What a break after the first token leads to; `resume: false` (the older switch) is "fail". */
function onBreak(s: PoolConfig["stream"]): "resume" | "restart" | "fail" {
  return s.resume ? s.on_break : "fail";
}

/** Unicode code points in `s` (what most languages call characters). */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

interface Totals {
  prompt: number;
  completion: number;
  cached: number;
  estimated: boolean;
  cost: number;
}

export async function* runStream(pool: Attempts, plan: Plan, req: ChatRequest, ctx: CallContext): AsyncGenerator<StreamChunkOut> {
  const r = plan.record;
  const clock = pool.clock;
  /** Text delivered to the caller, over all attempts. */
  let text = "";
  let delivered = false;
  let toolCallsDelivered = false;
  /** Usage and cost of attempts that delivered text and then failed. */
  const spent: Totals = { prompt: 0, completion: 0, cached: 0, estimated: false, cost: 0 };
  /** A mid-stream failover or restart to announce with the next provider's first chunk. */
  let pending: { from: string; reason: string; offset: number } | undefined;

  for (;;) {
    let at: Attempt;
    try {
      at = await pool.next(plan, ctx);
    } catch (err) {
      if (pending && err instanceof PoolError && err.code !== "canceled" && err.code !== "deadline_exceeded") {
        throw midStream(plan, pending.from, text, `no provider could continue it: ${err.message}`, pending.reason);
      }
      throw err;
    }
    let raced: AsyncIterator<StreamEvent> | undefined;
    let racedTtft: number | undefined;
    if (plan.strategy.race && plan.pick.attempt === 1 && !delivered) {
      // Racing and hedging (src/balancer/race-runner.ts): the first leg to produce a token wins and
      // its stream goes on below; losers are aborted and recorded by the race host.
      try {
        const won = await raceStream(plan.strategy.race, pool.raceHost(plan, ctx), { candidate: at, attempt: at.signal, started: at.started }, plan.pick, (a, signal) =>
          a.endpoint.provider.stream({ request: req, model: a.route.upstreamModel, signal: pool.alias(signal, plan), requestId: ctx.requestId }),
        );
        at = won.leg.candidate;
        r.provider = at.endpoint.name;
        raced = won.result;
        racedTtft = won.ttftMs;
      } catch (err) {
        at.signal.done();
        pool.continueAfter(plan, pool.fail(plan, at, err, ctx));
        continue;
      }
    }
    const e = at.endpoint;
    const settings = pool.streamSettings;
    // After a break: continue the delivered text where the provider can, else start over.
    const splice = pending !== undefined && onBreak(settings) === "resume" && e.capabilities.prefill === true && !toolCallsDelivered;
    let restart = pending !== undefined && !splice;
    let continuation = splice ? new Continuation(text) : undefined;
    const stall = new StallWatch(clock, () => pool.chunkGaps.stallThreshold(e, settings), (silent, threshold) =>
      at.signal.abort(
        new ProviderError({
          provider: e.name,
          kind: "timeout",
          message: `stream stalled: no chunk for ${Math.round(silent)} ms (threshold ${Math.round(threshold)} ms)`,
        }),
      ),
    );
    const upstream =
      raced ??
      e.provider
        .stream({ request: req, model: at.route.upstreamModel, signal: at.signal.signal, requestId: ctx.requestId, prefill: splice ? text : undefined })
        [Symbol.asyncIterator]();
    let ended = false;
    let started = false;
    let attemptText = "";
    let id = "";
    let model = "";
    let finishReason: FinishReason | undefined;
    let rawFinishReason = "";
    let usage: TokenUsage | undefined;
    let servedBy: ServedBy | undefined;
    let ttftMs: number | undefined;
    let lastAt = 0;
    try {
      for (;;) {
        const next = await upstream.next();
        if (next.done) break;
        const ev = next.value;
        if (ev.rateLimit) pool.observeRateLimit(e, ev.rateLimit);
        if (ev.id) id = ev.id;
        if (ev.model) model = ev.model;
        if (ev.usage) usage = ev.usage;
        if (ev.servedBy) servedBy = ev.servedBy;
        if (ev.finishReason) {
          finishReason = ev.finishReason;
          rawFinishReason = ev.rawFinishReason ?? ev.finishReason;
        }
        const hasTools = ev.toolCalls !== undefined && ev.toolCalls.length > 0;
        if (!ev.delta && !hasTools) continue;
        const now = clock.now();
        if (ev.delta) attemptText += ev.delta;
        if (!started) {
          started = true;
          ttftMs = racedTtft ?? now - at.started;
          at.signal.clearTimeout();
          stall.start(now);
        } else {
          pool.chunkGaps.record(e, now - lastAt);
          stall.touch(now);
        }
        lastAt = now;
        let delta = ev.delta ?? "";
        if (continuation) {
          // Held back while it repeats the delivered text (continuation.ts).
          const rc = hasTools ? (continuation.end() ?? { kind: "continue" as const, text: "" }) : continuation.push(delta);
          if (rc.kind === "holding") continue;
          continuation = undefined;
          delta = hasTools ? rc.text + delta : rc.text;
          if (rc.kind === "restart") restart = true;
        }
        if (pending) {
          const p = pending;
          pending = undefined;
          if (restart) {
            yield { delta: "", provider: e.name, restart: { attempt: r.attempts, discarded: codePoints(text), fromProvider: p.from, toProvider: e.name, reason: p.reason } };
            text = "";
            toolCallsDelivered = false;
          } else {
            yield { delta: "", provider: e.name, failover: { attempt: r.attempts, offset: p.offset, fromProvider: p.from, toProvider: e.name, reason: p.reason } };
          }
        }
        text += delta;
        if (hasTools) toolCallsDelivered = true;
        if (!delivered) {
          delivered = true;
          r.ttftMs = now - r.startedAt;
          yield {
            delta,
            toolCalls: ev.toolCalls,
            id: id || ctx.requestId,
            model: model || at.route.upstreamModel,
            provider: servedBy?.provider ?? e.name,
            requestId: ctx.requestId,
          };
          continue;
        }
        if (!delta && !hasTools) continue;
        yield hasTools ? { delta, toolCalls: ev.toolCalls } : { delta };
      }
      if (continuation) {
        // It ended while still repeating the delivered text.
        const rc = continuation.end();
        if (rc && pending) {
          const p = pending;
          pending = undefined;
          if (rc.kind === "restart") {
            yield { delta: "", provider: e.name, restart: { attempt: r.attempts, discarded: codePoints(text), fromProvider: p.from, toProvider: e.name, reason: p.reason } };
            text = "";
          } else {
            yield { delta: "", provider: e.name, failover: { attempt: r.attempts, offset: p.offset, fromProvider: p.from, toProvider: e.name, reason: p.reason } };
          }
          text += rc.text;
          if (rc.text) yield { delta: rc.text };
        }
      }
      ended = true;
      stall.stop();
      const latencyMs = clock.now() - at.started;
      const settled = pool.settleUsage(plan, usage, attemptText);
      const costUsd = pool.costOf(e, at.route.upstreamModel, settled, servedBy);
      pool.end(plan, at, { ok: true, latencyMs, ttftMs: ttftMs ?? latencyMs, usage: settled, costUsd });
      const all = {
        promptTokens: settled.promptTokens + spent.prompt,
        completionTokens: settled.completionTokens + spent.completion,
        cachedTokens: settled.cachedTokens + spent.cached,
        estimated: settled.estimated || spent.estimated,
      };
      r.usage = all;
      r.costUsd = costUsd + spent.cost;
      r.ttftMs ??= clock.now() - r.startedAt;
      r.finishReason = finishReason ?? "stop";
      const last: StreamChunkOut = {
        finishReason: r.finishReason,
        rawFinishReason: rawFinishReason || r.finishReason,
        usage: { ...all, totalTokens: all.promptTokens + all.completionTokens },
        provider: servedBy?.provider ?? e.name,
        servedBy: servedByPath(e.name, servedBy),
        attempts: r.attempts,
        upstreamCalls: r.upstreamCalls,
        costUsd: roundUsd(r.costUsd),
        ttftMs: roundMs(r.ttftMs),
        latencyMs: roundMs(clock.now() - r.startedAt),
      };
      if (!delivered) {
        last.id = id || ctx.requestId;
        last.model = model || at.route.upstreamModel;
        last.requestId = ctx.requestId;
      }
      yield last;
      return;
    } catch (err) {
      stall.stop();
      // Text this attempt delivered is billed by the upstream: count it (estimated).
      let partial: Pick<CallOutcome, "usage" | "costUsd"> | undefined;
      if (attemptText) {
        const u = pool.settleUsage(plan, usage, attemptText);
        partial = { usage: u, costUsd: pool.costOf(e, at.route.upstreamModel, u, servedBy) };
        spent.prompt += u.promptTokens;
        spent.completion += u.completionTokens;
        spent.cached += u.cachedTokens;
        spent.estimated ||= u.estimated;
        spent.cost += partial.costUsd ?? 0;
      }
      const pe = pool.fail(plan, at, err, ctx, partial);
      if (!delivered) {
        pool.continueAfter(plan, pe);
        continue;
      }
      const mode = onBreak(settings);
      if (mode === "fail") {
        const why = settings.resume ? "pool.stream.on_break is fail" : "stream resume is off (pool.stream.resume)";
        throw midStream(plan, e.name, text, why, pe.describe());
      }
      if (!pool.mayContinue(plan, pe)) {
        const why = plan.record.budgetSpent ? "retry budget spent (pool.retry_budget)" : "no attempts left (pool.max_retries)";
        throw midStream(plan, e.name, text, why, pe.describe());
      }
      // A continuation that failed before its first chunk leaves the first failover pending.
      pending ??= { from: e.name, reason: pe.describe(), offset: codePoints(text) };
      plan.pick.attempt++;
    } finally {
      stall.stop();
      at.signal.done();
      if (!at.ended) {
        // The consumer stopped reading (client gone): the call ends canceled.
        pool.end(plan, at, { ok: false, latencyMs: clock.now() - at.started, canceled: true });
      }
      if (!ended) void upstream.return?.(undefined)?.catch?.(() => undefined);
    }
  }
}

/** A stream that broke after text was delivered and cannot be continued. */
function midStream(plan: Plan, provider: string, text: string, why: string, error: string): PoolError {
  return new PoolError(
    "unavailable",
    `stream from ${provider} failed after ${codePoints(text)} characters were delivered: ${error} (not resumed: ${why})`,
    { attempts: plan.record.attempts, providers: plan.record.providersTried },
  );
}
