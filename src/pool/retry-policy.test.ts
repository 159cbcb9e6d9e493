import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { createRoundRobin } from "../balancer/round-robin.js";
import { RetryBudget } from "../limits/retry-budget.js";
import { ProviderError, type ProviderErrorKind } from "../core/errors.js";
import { createFakeClock } from "../util/clock.js";
import { makeEndpoint } from "../../test/helpers/endpoints.js";
import type { Endpoint } from "./endpoint.js";
import { createPlan, triedOn, type Plan } from "./plan.js";
import { mayRetry, retryBackoff, selectNext, type RetrySettings } from "./retry-policy.js";
import type { Route } from "./router.js";

const clock = createFakeClock();
const eps = [
  makeEndpoint("a", clock, { priority: 1 }),
  makeEndpoint("b", clock, { priority: 2 }),
  makeEndpoint("c", clock, { priority: 1 }),
  makeEndpoint("d", clock, { priority: 1 }),
];
const routes: Route[] = eps.map((endpoint) => ({ endpoint, upstreamModel: "m" }));
const settings = (fallback: RetrySettings["fallback"], o: Partial<RetrySettings> = {}): RetrySettings => ({
  fallback,
  max_retries: 3,
  retries_per_provider: 1,
  retry_backoff_ms: { initial: 100, max: 2000 },
  ...o,
});

function plan(preferred?: string): Plan {
  return createPlan({
    request: create(ChatRequestSchema, { messages: [{ role: "user", content: "x" }] }),
    kind: "chat",
    requestId: "r",
    resolved: { model: "m", routes },
    strategy: createRoundRobin(),
    preferred,
    excluded: new Set(),
    now: 0,
    random: () => 0,
    pricing: () => ({ inputPer1m: 0, outputPer1m: 0, cachedInputPer1m: 0 }),
  });
}

/** Record that `e` was called and failed with `kind`. */
function failed(p: Plan, e: Endpoint, kind: ProviderErrorKind = "server"): void {
  p.record.attemptEndpoints.push(e);
  if (!p.record.providersTried.includes(e.name)) p.record.providersTried.push(e.name);
  p.record.errors.push(new ProviderError({ provider: e.name, kind, message: kind }));
}

const split = (p: Plan) => ({
  fresh: routes.filter((r) => !triedOn(p, r.endpoint)),
  again: routes.filter((r) => triedOn(p, r.endpoint)),
});
const next = (p: Plan, s: RetrySettings) => {
  const { fresh, again } = split(p);
  const sel = selectNext(p, fresh, again, s);
  if (!sel) return "none";
  return "route" in sel ? sel.route.endpoint.name : `among ${sel.among.map((r) => r.endpoint.name).join(",")}`;
};

describe("fallback policies", () => {
  it("first attempt: the preferred provider, else the strategy among all", () => {
    expect(next(plan("c"), settings("next_available"))).toBe("c");
    expect(next(plan(), settings("next_available"))).toBe("among a,b,c,d");
  });

  it("next_available: the next in priority then config order after the failed one, then round again", () => {
    const p = plan();
    const [a, b, c, d] = eps as [Endpoint, Endpoint, Endpoint, Endpoint];
    failed(p, c);
    expect(next(p, settings("next_available"))).toBe("d"); // tier 1 after c
    failed(p, d);
    expect(next(p, settings("next_available"))).toBe("a"); // wraps within tier 1
    failed(p, a);
    expect(next(p, settings("next_available"))).toBe("b"); // then tier 2
    failed(p, b);
    expect(next(p, settings("next_available"))).toBe("c"); // all tried: round again after b, tier 1 first
  });

  it("best_alternative: the strategy's choice among those not tried", () => {
    const p = plan();
    failed(p, eps[1]!);
    expect(next(p, settings("best_alternative"))).toBe("among a,c,d");
  });

  it("retry_same: the same provider retries_per_provider times for transient errors, then moves on", () => {
    const p = plan();
    const a = eps[0]!;
    failed(p, a);
    expect(next(p, settings("retry_same"))).toBe("a");
    failed(p, a);
    expect(next(p, settings("retry_same"))).toBe("among b,c,d");
    expect(next(p, settings("retry_same", { retries_per_provider: 2 }))).toBe("a");
    const q = plan();
    failed(q, a, "auth");
    q.record.spent.push(a);
    expect(next(q, settings("retry_same"))).toBe("among b,c,d");
  });

  it("none: only the first provider, ever", () => {
    const p = plan();
    failed(p, eps[2]!);
    expect(next(p, settings("none"))).toBe("c");
    const { fresh } = split(p);
    expect(selectNext(p, fresh, [], settings("none"))).toBeUndefined(); // c not available now
  });

  it("never calls a provider again after an error retrying cannot fix", () => {
    const p = plan();
    const budget = new RetryBudget(() => ({ enabled: false, ratio: 0, min_per_s: 0 }));
    failed(p, eps[0]!, "context_length");
    expect(mayRetry(p, p.record.errors[0]!, settings("best_alternative"), budget, 0)).toBe(true);
    expect(p.record.spent).toEqual([eps[0]]);
    for (const e of eps.slice(1)) failed(p, e);
    expect(next(p, settings("best_alternative"))).toBe("among b,c,d");
  });
});

describe("mayRetry", () => {
  const budget = () => new RetryBudget(() => ({ enabled: true, ratio: 0, min_per_s: 0.2 })); // 2 per 10 s

  it("stops on request errors, after max_retries, on provider errors under none, and when the budget is spent", () => {
    const p = plan();
    const b = budget();
    const err = (kind: ProviderErrorKind) => new ProviderError({ provider: "a", kind, message: kind });
    expect(mayRetry(p, err("bad_request"), settings("next_available"), b, 0)).toBe(false);
    expect(mayRetry(p, err("auth"), settings("none"), b, 0)).toBe(false);
    expect(mayRetry(p, err("server"), settings("next_available"), b, 0)).toBe(true);
    expect(mayRetry(p, err("server"), settings("next_available"), b, 0)).toBe(true);
    expect(mayRetry(p, err("server"), settings("next_available"), b, 0)).toBe(false);
    expect(p.record.budgetSpent).toBe(true);
    p.pick.attempt = 4;
    expect(mayRetry(p, err("server"), settings("next_available"), budget(), 0)).toBe(false);
  });

  it("backs off exponentially with full jitter", () => {
    const p = plan();
    const s = settings("retry_same");
    expect(retryBackoff(p, s, () => 0.999)).toBe(99);
    p.record.retries = 3;
    expect(retryBackoff(p, s, () => 0.999)).toBe(799);
    p.record.retries = 10;
    expect(retryBackoff(p, s, () => 0.999)).toBe(1998);
    expect(retryBackoff(p, s, () => 0)).toBe(0);
  });
});
