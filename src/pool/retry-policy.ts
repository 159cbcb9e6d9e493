/**
 * Retry and fallback policy: after a failed attempt, whether another is made (error scope,
 * `max_retries`, the retry budget) and where it goes (`pool.fallback`):
 *  - none: only the provider of the first attempt, retried with backoff;
 *  - next_available: the next provider in priority, then config, order after the one that
 *    failed, skipping those tried; once all were tried, round again with backoff;
 *  - retry_same: the same provider again with backoff (up to `retries_per_provider` times,
 *    and only for transient errors), then as best_alternative;
 *  - best_alternative: the strategy's choice among the providers not yet tried; once all
 *    were tried, its choice among all, with backoff.
 * A provider that failed with an error retrying cannot fix (bad key, context too long here)
 * is not called again for the request.
 */
import type { FALLBACK_POLICIES } from "../config/schema.js";
import type { RetryBudget } from "../limits/retry-budget.js";
import type { ProviderError } from "../core/errors.js";
import type { Endpoint } from "./endpoint.js";
import type { Plan } from "./plan.js";
import type { Route } from "./router.js";

export type FallbackPolicy = (typeof FALLBACK_POLICIES)[number];

export interface RetrySettings {
  fallback: FallbackPolicy;
  max_retries: number;
  retries_per_provider: number;
  retry_backoff_ms: { initial: number; max: number };
}

/** The next route outright, or the routes the strategy should choose among. */
export type Selection = { route: Route } | { among: readonly Route[] } | undefined;

const count = (list: readonly Endpoint[], e: Endpoint) => {
  let n = 0;
  for (const x of list) if (x === e) n++;
  return n;
};

/**
 * Where the next attempt goes, given the available routes not yet tried (`fresh`) and tried
 * before (`again`); both already passed health, fit and gate checks.
 */
export function selectNext(plan: Plan, fresh: readonly Route[], again: readonly Route[], s: RetrySettings): Selection {
  if (again.length > 0 && plan.record.spent.length > 0) again = again.filter((r) => !plan.record.spent.includes(r.endpoint));
  if (plan.record.attemptEndpoints.length === 0) {
    if (fresh.length === 0) return undefined;
    if (plan.preferred) {
      for (const r of fresh) if (r.endpoint.name === plan.preferred) return { route: r };
    }
    return { among: fresh };
  }
  const last = plan.record.attemptEndpoints[plan.record.attemptEndpoints.length - 1]!;
  switch (s.fallback) {
    case "none": {
      const first = plan.record.attemptEndpoints[0]!;
      const r = again.find((x) => x.endpoint === first);
      return r ? { route: r } : undefined;
    }
    case "retry_same": {
      const err = plan.record.errors[plan.record.errors.length - 1];
      if (err?.scope === "transient" && count(plan.record.attemptEndpoints, last) <= s.retries_per_provider) {
        const r = again.find((x) => x.endpoint === last);
        if (r) return { route: r };
      }
      return fresh.length > 0 ? { among: fresh } : again.length > 0 ? { among: again } : undefined;
    }
    case "next_available":
      return nextInOrder(plan, last, fresh, again);
    case "best_alternative":
      return fresh.length > 0 ? { among: fresh } : again.length > 0 ? { among: again } : undefined;
  }
}

/** next_available: walk the routes in priority, then config, order, starting after `last`. */
function nextInOrder(plan: Plan, last: Endpoint, fresh: readonly Route[], again: readonly Route[]): Selection {
  const pool = fresh.length > 0 ? fresh : again;
  if (pool.length === 0) return undefined;
  const order = plan.routes;
  const at = order.findIndex((r) => r.endpoint === last);
  let best: Route | undefined;
  let bestKey = Infinity;
  for (const r of pool) {
    const i = order.indexOf(r);
    // Distance after `last` in config order, within the lowest priority tier available.
    const dist = (i - at + order.length) % order.length || order.length;
    const key = r.endpoint.priority * (order.length + 1) + dist;
    if (key < bestKey) {
      bestKey = key;
      best = r;
    }
  }
  return best ? { route: best } : undefined;
}

/**
 * After a failed attempt: may another be made? Spends from the retry budget when it may
 * (the budget is asked last, so a refused attempt costs nothing).
 */
export function mayRetry(plan: Plan, err: ProviderError, s: RetrySettings, budget: RetryBudget, now: number): boolean {
  if (err.scope === "request") return false;
  if (err.scope === "provider") {
    const e = plan.record.attemptEndpoints[plan.record.attemptEndpoints.length - 1];
    if (e && !plan.record.spent.includes(e)) plan.record.spent.push(e);
    if (s.fallback === "none") return false;
  }
  if (plan.pick.attempt > s.max_retries) return false;
  if (!budget.tryRetry(now)) {
    plan.record.budgetSpent = true;
    return false;
  }
  return true;
}

/** Backoff before calling a provider this request already tried (full jitter). */
export function retryBackoff(plan: Plan, s: RetrySettings, random: () => number): number {
  const { initial, max } = s.retry_backoff_ms;
  return backoffMs(plan.record.retries + 1, initial, max, random);
}

/** Exponential backoff with full jitter: uniform in [0, min(max, initial * 2^n)). */
export function backoffMs(retry: number, initial: number, max: number, random: () => number): number {
  const cap = Math.min(max, initial * Math.pow(2, Math.max(0, retry - 1)));
  return Math.floor(random() * cap);
}
