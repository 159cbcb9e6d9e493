/**
 * The final error of a request that could not be served, built from its plan: every
 * provider's last error (UNAVAILABLE), the limits in the way with a retry delay
 * (RESOURCE_EXHAUSTED), the deadline (DEADLINE_EXCEEDED), or the upstream's own rejection of
 * the request (INVALID_ARGUMENT).
 */
import type { WaitOutcome } from "../limits/admission.js";
import type { ProviderError } from "../core/errors.js";
import { PoolError } from "../core/errors.js";
import type { Cancel } from "../util/cancel.js";
import { fits, triedOn, type Plan } from "./plan.js";

const extraOf = (plan: Plan) => ({ attempts: plan.record.attempts, providers: plan.record.providersTried });

/** Providers of the model that were not tried, and why (blocked or out of rotation). */
function untried(plan: Plan): string {
  const out: string[] = [];
  for (const rt of plan.routes) {
    const e = rt.endpoint;
    if (triedOn(plan, e) || !fits(plan, rt)) continue;
    const block = plan.record.blocked.get(e.name);
    const why = block?.reason ?? e.unavailableReason;
    if (why) out.push(`${e.name}: ${why}`);
  }
  return out.join("; ");
}

function minRetryAfter(values: Iterable<number | undefined>): number | undefined {
  let min = Infinity;
  for (const v of values) if (v !== undefined && v > 0 && v < min) min = v;
  return min < Infinity ? min : undefined;
}

/** Why no endpoint could be chosen (or no further attempt made): the request's final error. */
export function exhaustedError(plan: Plan): PoolError {
  const r = plan.record;
  const extra = extraOf(plan);
  const model = JSON.stringify(r.model);
  const errs = plan.record.errors;
  if (errs.length > 0) {
    const lastByProvider = new Map<string, ProviderError>();
    for (const e of errs) lastByProvider.set(e.provider, e);
    const detail = [...lastByProvider].map(([p, e]) => `${p}: ${e.describe()}`).join("; ");
    const last = errs[errs.length - 1]!;
    if (last.scope === "request") {
      return new PoolError("invalid_argument", `upstream ${last.provider} rejected the request: ${last.message}`, extra);
    }
    const kinds = new Set([...lastByProvider.values()].map((e) => e.kind));
    if (kinds.size === 1 && (kinds.has("context_length") || kinds.has("content_filter"))) {
      const what = kinds.has("context_length") ? "prompt too long" : "rejected by content policy";
      return new PoolError("invalid_argument", `${what} for every eligible provider: ${detail}`, extra);
    }
    const rest = untried(plan);
    const tail = `${rest ? `; not tried: ${rest}` : ""}${plan.record.budgetSpent ? " (retry budget spent: pool.retry_budget)" : ""}`;
    if (kinds.size === 1 && kinds.has("rate_limited")) {
      const retryAfterMs = minRetryAfter([...lastByProvider.values()].map((e) => e.retryAfterMs));
      return new PoolError(
        "resource_exhausted",
        `every provider is rate-limited${retryAfterMs ? `; retry in ${Math.ceil(retryAfterMs)} ms` : ""}: ${detail}${tail}`,
        { ...extra, retryAfterMs },
      );
    }
    return new PoolError(
      "unavailable",
      `all ${lastByProvider.size} provider(s) tried for model ${model} failed after ${r.attempts} attempt(s): ${detail}${tail}`,
      extra,
    );
  }
  if (plan.record.blocked.size > 0) {
    const blocks = [...plan.record.blocked.values()];
    const detail = [...plan.record.blocked].map(([name, b]) => `${name}: ${b.reason}`).join("; ");
    if (blocks.every((b) => b.kind === "exhausted")) {
      return new PoolError("resource_exhausted", `every provider of model ${model} is at a limit: ${detail}`, {
        ...extra,
        retryAfterMs: minRetryAfter(blocks.map((b) => b.retryAfterMs)),
      });
    }
    const rest = untried(plan);
    return new PoolError("unavailable", `no provider of model ${model} can serve now: ${rest || detail}`, extra);
  }
  const fitting = plan.routes.filter((rt) => fits(plan, rt));
  if (fitting.length === 0) {
    const why: string[] = [];
    if (plan.needsVision) why.push(plan.needsImageUrl ? "images, some by URL" : "images");
    if (plan.needsTools) why.push("tools");
    if (plan.pick.promptTokens > 0) why.push(`~${plan.pick.promptTokens} prompt tokens`);
    return new PoolError(
      "invalid_argument",
      `no provider of model ${model} can take this request (${why.join(", ")}) with the routing given`,
      extra,
    );
  }
  const detail = fitting
    .map((rt) => `${rt.endpoint.name}: ${rt.endpoint.unavailableReason || rt.endpoint.lastError || "out of rotation"}`)
    .join("; ");
  return new PoolError("unavailable", `no healthy provider for model ${model}: ${detail}`, extra);
}

/** The client went away, or its deadline passed. */
export function abortedError(plan: Plan, signal: Cancel): PoolError {
  const r = plan.record;
  const reason = signal.reason as { code?: number; name?: string } | undefined;
  // connect aborts the handler signal with ConnectError(DeadlineExceeded = 4) on deadline.
  const deadline = reason?.code === 4 || reason?.name === "TimeoutError";
  const tried = r.providersTried.length ? ` (tried ${r.providersTried.join(", ")})` : "";
  return deadline
    ? new PoolError("deadline_exceeded", `deadline exceeded after ${r.attempts} attempt(s)${tried}`, extraOf(plan))
    : new PoolError("canceled", `request canceled by the client after ${r.attempts} attempt(s)`);
}

/** A wait for a provider that ended without one. */
export function waitError(plan: Plan, o: Exclude<WaitOutcome, { kind: "woken" | "aborted" }>, maxSize: number): PoolError {
  const extra = extraOf(plan);
  const model = JSON.stringify(plan.record.model);
  const detail = [...plan.record.blocked].map(([name, b]) => `${name}: ${b.reason}`).join("; ") || untried(plan);
  switch (o.kind) {
    case "full":
      return new PoolError(
        "resource_exhausted",
        `queue full: ${maxSize} request(s) already wait for a provider (pool.queue.max_size); model ${model}: ${detail}`,
        { ...extra, retryAfterMs: o.retryAfterMs ?? 1000 },
      );
    case "timeout":
      return new PoolError(
        "resource_exhausted",
        `waited ${Math.round(o.waitedMs)} ms for a provider of model ${model} (pool.queue.timeout_ms): ${detail}`,
        { ...extra, retryAfterMs: o.retryAfterMs ?? 1000 },
      );
    case "unfit":
      return new PoolError(
        "resource_exhausted",
        `every provider of model ${model} is at a limit for longer than the request can wait (retry in ${Math.ceil(o.retryAfterMs)} ms): ${detail}`,
        { ...extra, retryAfterMs: o.retryAfterMs },
      );
    case "off":
      return new PoolError("resource_exhausted", `every provider of model ${model} is at a limit (and pool.queue is off): ${detail}`, {
        ...extra,
        retryAfterMs: o.retryAfterMs ?? 1000,
      });
    case "closed":
      return new PoolError("unavailable", "the server is shutting down", { ...extra, retryAfterMs: 1000 });
  }
}
