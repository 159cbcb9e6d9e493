/**
 * Budgets as gates (src/core/gate.ts): USD limits per tenant (`metadata.tenant`) and per
 * provider, per UTC day and UTC calendar month, read from the spend book (which the ledger
 * seeds at start-up, so budgets survive restarts).
 *
 * "Would exceed" is decided before the call from an estimate: the request's estimated prompt
 * tokens at the provider's input price plus its `max_tokens` (256 when unset) at the output
 * price. A call is refused when spent + reserved (calls in flight) + estimate > limit, so
 * concurrent calls cannot together overshoot by more than the estimates' error.
 *
 *  - A tenant whose budget is already spent is rejected at admission (RequestGate):
 *    RESOURCE_EXHAUSTED naming the budget, with the time to its reset as the retry delay.
 *  - Otherwise each candidate provider is checked with its own price (an EndpointGate): a
 *    cheaper provider may still fit when an expensive one would not. When none fits, the pool
 *    answers RESOURCE_EXHAUSTED listing each provider's blocking budget.
 *  - A provider past (or about to pass) its own budget is skipped the same way: it leaves
 *    rotation until its period resets or the limit is raised, and stats show it DISABLED.
 */
import type { Config } from "../config/schema.js";
import type { Endpoint } from "../pool/endpoint.js";
import { PoolError } from "../core/errors.js";
import type { EndpointGate, GateBlock, GateRequest, RequestGate } from "../core/gate.js";
import type { RequestRecord } from "../core/outcome.js";
import type { Clock } from "../util/clock.js";
import { expectedCost, type Pricer } from "./pricing.js";
import { PERIODS, type Period, type Scope, type SpendBook } from "./spend.js";

/** Longest `metadata.tenant` accepted: tenants are ledger keys. */
export const MAX_TENANT_LENGTH = 128;

type Limits = NonNullable<Config["providers"][number]["budget"]>;

export interface BudgetsOptions {
  config: () => Config;
  spend: SpendBook;
  pricer: Pricer;
  clock: Clock;
}

/** Mirrors llmpool.v1.BudgetStatus. */
export interface BudgetStatusOut {
  scope: Scope;
  key: string;
  period: Period;
  limitUsd: number;
  spentUsd: number;
  exhausted: boolean;
}

export interface Budgets {
  readonly requestGate: RequestGate;
  readonly endpointGate: EndpointGate<Endpoint>;
  /** The estimate the gate made for this request on this endpoint, for reservations. */
  estimateFor(record: RequestRecord, endpoint: Endpoint): number | undefined;
  /** Every configured budget and its spend (tenants under "*" that spent something too). */
  statuses(endpoints: readonly Endpoint[], providerFilter?: readonly string[]): BudgetStatusOut[];
  /** Why a provider is out of rotation for its budget ("" when it is not). */
  providerBlock(endpoint: Endpoint): string;
}

const LIMIT_KEY = { daily: "daily_usd", monthly: "monthly_usd" } as const;

export function usd(v: number): string {
  return `$${v.toFixed(v !== 0 && Math.abs(v) < 1 ? 4 : 2)}`;
}

/** Tenants listed under "*" shown in stats, at most. */
const WILDCARD_STATUSES = 100;

export function createBudgets(opts: BudgetsOptions): Budgets {
  const { spend, pricer, clock } = opts;
  const estimates = new WeakMap<RequestRecord, Map<Endpoint, number>>();

  const tenantLimits = (tenant: string): Limits | undefined => {
    const t = opts.config().cost.budgets.tenants;
    if (Object.hasOwn(t, tenant)) return t[tenant];
    return Object.hasOwn(t, "*") ? t["*"] : undefined;
  };

  const label = (scope: Scope, name: string, period: Period, limit: number) =>
    scope === "tenant" ? `tenant ${JSON.stringify(name)} ${period} budget ${usd(limit)}` : `provider ${name} ${period} budget ${usd(limit)}`;

  const untilReset = (period: Period) => Math.max(1, spend.resetsAt(period) - clock.wallNow());

  /** The first period of `limits` that this spend would break, as a gate block. */
  function breach(scope: Scope, name: string, limits: Limits, estimate: number): GateBlock | undefined {
    for (const period of PERIODS) {
      const limit = limits[LIMIT_KEY[period]];
      if (limit === undefined) continue;
      const spent = spend.spent(scope, name, period);
      const reserved = spend.reserved(scope, name);
      if (spent >= limit) {
        return { kind: "exhausted", reason: `${label(scope, name, period, limit)} is spent (${usd(spent)})`, retryAfterMs: untilReset(period) };
      }
      if (spent + reserved + estimate > limit) {
        const inFlight = reserved > 0 ? ` + ${usd(reserved)} in flight` : "";
        return {
          kind: "exhausted",
          reason: `${label(scope, name, period, limit)} would be exceeded (${usd(spent)} spent${inFlight}, this request ~${usd(estimate)})`,
          retryAfterMs: untilReset(period),
        };
      }
    }
    return undefined;
  }

  const requestGate: RequestGate = {
    name: "tenant-budget",
    admit(req, record) {
      const tenant = record.tenant;
      if (tenant.length > MAX_TENANT_LENGTH) {
        return new PoolError("invalid_argument", `metadata.tenant: at most ${MAX_TENANT_LENGTH} characters (got ${tenant.length})`);
      }
      const limits = tenantLimits(tenant);
      if (!limits) return undefined;
      spend.roll();
      const block = breach("tenant", tenant, limits, 0);
      if (!block) return undefined;
      return new PoolError("resource_exhausted", `budget exhausted: ${block.reason}; resets in ${Math.ceil((block.retryAfterMs ?? 0) / 60_000)} min`, {
        retryAfterMs: block.retryAfterMs,
      });
    },
  };

  const endpointGate: EndpointGate<Endpoint> = {
    name: "budget",
    check(e: Endpoint, req: GateRequest) {
      const own = e.config.budget;
      const tenant = req.record.tenant;
      const tl = tenantLimits(tenant);
      if (!own && !tl) return undefined;
      spend.roll();
      const estimate = expectedCost(pricer.pricing(e, req.upstreamModel), req.promptTokens, req.maxTokens);
      let byEndpoint = estimates.get(req.record);
      if (!byEndpoint) estimates.set(req.record, (byEndpoint = new Map()));
      byEndpoint.set(e, estimate);
      return (own && breach("provider", e.name, own, estimate)) || (tl && breach("tenant", tenant, tl, estimate)) || undefined;
    },
  };

  return {
    requestGate,
    endpointGate,
    estimateFor: (record, endpoint) => estimates.get(record)?.get(endpoint),
    statuses(endpoints, providerFilter = []) {
      spend.roll();
      const out: BudgetStatusOut[] = [];
      const push = (scope: Scope, key: string, limits: Limits) => {
        for (const period of PERIODS) {
          const limit = limits[LIMIT_KEY[period]];
          if (limit === undefined) continue;
          const spent = spend.spent(scope, key, period);
          out.push({ scope, key, period, limitUsd: limit, spentUsd: spent, exhausted: spent >= limit });
        }
      };
      const tenants = opts.config().cost.budgets.tenants;
      for (const [name, limits] of Object.entries(tenants)) if (name !== "*") push("tenant", name, limits);
      if (Object.hasOwn(tenants, "*")) {
        const seen = new Set<string>();
        for (const period of PERIODS) {
          for (const t of spend.top("tenant", period, WILDCARD_STATUSES)) {
            if (!Object.hasOwn(tenants, t.name) && !seen.has(t.name)) seen.add(t.name);
          }
        }
        for (const name of seen) push("tenant", name, tenants["*"]!);
      }
      for (const e of endpoints) {
        if (e.config.budget && (providerFilter.length === 0 || providerFilter.includes(e.name))) push("provider", e.name, e.config.budget);
      }
      return out;
    },
    providerBlock(e) {
      const limits = e.config.budget;
      if (!limits) return "";
      spend.roll();
      for (const period of PERIODS) {
        const limit = limits[LIMIT_KEY[period]];
        const spent = spend.spent("provider", e.name, period);
        if (limit !== undefined && spent >= limit) {
          return `${period} budget ${usd(limit)} spent (${usd(spent)}); back in rotation at ${new Date(spend.resetsAt(period)).toISOString()}`;
        }
      }
      return "";
    },
  };
}
