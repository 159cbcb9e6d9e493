/**
 * Shared admission: how the pool uses a shared state backend (src/state/state.ts). After the
 * pool chooses an endpoint, `reserver.reserve` checks and counts the call cluster-wide (rpm,
 * rpd, tpm, max_concurrency, cool-downs, upstream budgets, tenant and provider budgets) in one
 * round trip; the observer settles it when it ends (real tokens and cost, upstream signals).
 *
 * Refusals are remembered for a moment per provider (budget refusals per request), so the
 * pool's synchronous choice skips a provider the cluster has just refused instead of asking
 * again for every request. While the backend is down, `on_unavailable` decides: `local` lets
 * each limiter apply its share of every limit (src/limits/limiter.ts), `closed` refuses with
 * UNAVAILABLE.
 */
import type { Config } from "../config/schema.js";
import type { Budgets } from "../cost/budgets.js";
import { PoolError } from "../core/errors.js";
import type { CallOutcome, RequestRecord } from "../core/outcome.js";
import type { Endpoint } from "../pool/endpoint.js";
import type { EndpointGate, GateBlock, GateRequest, RequestGate, Reserver } from "../core/gate.js";
import type { PoolObserver } from "../pool/observer.js";
import type { Clock } from "../util/clock.js";
import type { BudgetLimits, StateBackend } from "./state.js";

export interface SharedAdmissionOptions {
  backend: StateBackend;
  config: () => Config;
  budgets: Budgets;
  clock: Clock;
  /** The cluster refused a call on `e` (counted with the endpoint's rate-limit rejections). */
  onRefused?: (e: Endpoint) => void;
  /** Called when a settle could not be written (the backend is down); default: ignored. */
  onSettleError?: (err: Error) => void;
}

export interface SharedAdmission {
  readonly reserver: Reserver<Endpoint>;
  /** Skips providers the cluster just refused; reports the backend down in `closed` mode. */
  readonly endpointGate: EndpointGate<Endpoint>;
  /** `closed` mode: refuses requests while the backend is down. */
  readonly requestGate: RequestGate;
  readonly observer: PoolObserver;
}

/** Longest a provider-wide refusal is trusted before the cluster is asked again. */
const REMEMBER_MS = 1000;
/** Extra life of a concurrency lease beyond the provider's timeout_ms. */
const LEASE_SLACK_MS = 30_000;

interface Held {
  lease: string;
  startedAt: number;
  tokens: number;
  estimate: number;
  tenantBudget: boolean;
  providerBudget: boolean;
}

export function createSharedAdmission(opts: SharedAdmissionOptions): SharedAdmission {
  const { backend, clock } = opts;
  /** Provider-wide refusals: provider -> (monotonic until, block, real retry time). */
  const refused = new Map<string, { until: number; retryAt: number; block: GateBlock }>();
  /** Budget refusals, per request and provider. */
  const budgetRefused = new WeakMap<RequestRecord, Map<string, GateBlock>>();
  /** Reservations of calls in flight: request -> endpoint -> what was held. */
  const held = new WeakMap<RequestRecord, Map<Endpoint, Held>>();
  const closedMode = () => opts.config().state.on_unavailable === "closed";
  const unavailable = () => new PoolError("unavailable", `state backend ${backend.kind} is unavailable and state.on_unavailable is closed; retry shortly`, { retryAfterMs: 1000 });
  backend.onAvailability(() => refused.clear());

  const tenantLimits = (tenant: string): BudgetLimits | undefined => {
    const t = opts.config().cost.budgets.tenants;
    if (Object.hasOwn(t, tenant)) return t[tenant];
    return Object.hasOwn(t, "*") ? t["*"] : undefined;
  };

  const reserver: Reserver<Endpoint> = {
    reserve(e: Endpoint, req: GateRequest) {
      if (!backend.up) return closedMode() ? Promise.reject(unavailable()) : undefined;
      const c = e.config;
      const tl = tenantLimits(req.record.tenant);
      const estimate = opts.budgets.estimateFor(req.record, e) ?? 0;
      const wall = clock.wallNow();
      const tokens = c.tpm > 0 ? Math.min(c.tpm, req.promptTokens + req.maxTokens) : 0;
      return backend
        .reserve({
          provider: e.name,
          limits: { rpm: c.rpm, rpd: c.rpd, tpm: c.tpm, maxConcurrency: c.max_concurrency, leaseMs: c.timeout_ms + LEASE_SLACK_MS },
          promptTokens: req.promptTokens,
          reserveTokens: tokens,
          tenant: tl ? { name: req.record.tenant, limits: tl } : undefined,
          providerBudget: c.budget,
          estimateUsd: estimate,
          now: wall,
        })
        .then(
          (v): GateBlock | undefined => {
            if (v.ok) {
              let m = held.get(req.record);
              if (!m) held.set(req.record, (m = new Map()));
              m.set(e, { lease: v.lease, startedAt: wall, tokens, estimate, tenantBudget: tl !== undefined, providerBudget: c.budget !== undefined });
              return undefined;
            }
            opts.onRefused?.(e);
            if (v.budget) {
              let m = budgetRefused.get(req.record);
              if (!m) budgetRefused.set(req.record, (m = new Map()));
              m.set(e.name, v.block);
            } else {
              const now = clock.now();
              const retry = v.block.retryAfterMs ?? REMEMBER_MS;
              refused.set(e.name, { until: now + Math.min(retry, REMEMBER_MS), retryAt: now + retry, block: v.block });
            }
            return v.block;
          },
          () => {
            // The backend failed (it is now marked down): choose again under the fallback.
            if (closedMode()) throw unavailable();
            return { kind: "exhausted", reason: "state backend unavailable; switching to local limits", retryAfterMs: 0 };
          },
        );
    },
    release(e, record) {
      const m = held.get(record);
      const h = m?.get(e);
      if (!h) return;
      m!.delete(e);
      settle(record, e, h, { ok: false, latencyMs: 0, canceled: true });
    },
  };

  const endpointGate: EndpointGate<Endpoint> = {
    name: "shared-state",
    check(e, req, now) {
      if (!backend.up) {
        return closedMode() ? { kind: "unavailable", reason: `state backend ${backend.kind} unavailable (state.on_unavailable: closed)` } : undefined;
      }
      const r = refused.get(e.name);
      if (r !== undefined) {
        if (now < r.until) return { kind: r.block.kind, reason: r.block.reason, retryAfterMs: r.block.retryAfterMs === undefined ? undefined : Math.max(1, r.retryAt - now) };
        refused.delete(e.name);
      }
      return budgetRefused.get(req.record)?.get(e.name);
    },
  };

  const requestGate: RequestGate = {
    name: "shared-state",
    admit() {
      return !backend.up && closedMode() ? unavailable() : undefined;
    },
  };

  function settle(r: RequestRecord, e: Endpoint, h: Held | undefined, o: CallOutcome): void {
    const err = o.error;
    let cooldownMs = 0;
    let cooldownWhy = "";
    // What a 429 (or a failure naming a retry delay) tells every replica: as Limiter.onFailure.
    if (err && !o.canceled) {
      let ms = err.retryAfterMs;
      const rl = err.rateLimit;
      if (ms === undefined && err.kind === "rate_limited") {
        if (rl?.remainingRequests === 0 && rl.resetRequestsMs !== undefined) ms = rl.resetRequestsMs;
        else if (rl?.remainingTokens === 0 && rl.resetTokensMs !== undefined) ms = rl.resetTokensMs;
        else ms = opts.config().pool.default_cooldown_ms;
      }
      if (ms !== undefined && ms > 0) {
        cooldownMs = ms;
        cooldownWhy = err.kind === "rate_limited" ? "upstream 429" : `upstream asked to retry later (${err.kind})`;
      }
    }
    const rl = (err && !o.canceled ? err.rateLimit : undefined) ?? o.rateLimit;
    const reqSignal = rl?.remainingRequests !== undefined && rl.resetRequestsMs !== undefined;
    const tokSignal = rl?.remainingTokens !== undefined && rl.resetTokensMs !== undefined;
    if (!h && !o.usage && cooldownMs === 0 && !reqSignal && !tokSignal) return;
    const used = o.usage ? o.usage.promptTokens + o.usage.completionTokens : err?.kind === "connect" || o.canceled ? 0 : undefined;
    backend
      .settle({
        provider: e.name,
        model: r.model,
        tenant: r.tenant,
        lease: h?.lease ?? "",
        startedAt: h?.startedAt ?? 0,
        reservedTokens: h?.tokens ?? 0,
        usedTokens: used,
        estimateUsd: h?.estimate ?? 0,
        tenantBudget: h?.tenantBudget ?? false,
        providerBudget: h?.providerBudget ?? false,
        usage: o.usage,
        costUsd: o.costUsd ?? 0,
        cooldownMs,
        cooldownWhy,
        remainingRequests: reqSignal ? rl!.remainingRequests : undefined,
        resetRequestsMs: reqSignal ? rl!.resetRequestsMs : undefined,
        remainingTokens: tokSignal ? rl!.remainingTokens : undefined,
        resetTokensMs: tokSignal ? rl!.resetTokensMs : undefined,
        now: clock.wallNow(),
      })
      .catch((error: Error) => opts.onSettleError?.(error));
    if (cooldownMs > 0) {
      const now = clock.now();
      refused.set(e.name, { until: now + Math.min(cooldownMs, REMEMBER_MS), retryAt: now + cooldownMs, block: { kind: "exhausted", reason: `cooling down for ${Math.ceil(cooldownMs)} ms (${cooldownWhy}, shared)`, retryAfterMs: cooldownMs } });
    }
  }

  const observer: PoolObserver = {
    attemptEnded(r, e, o) {
      const m = held.get(r);
      const h = m?.get(e);
      if (h) m!.delete(e);
      settle(r, e, h, o);
    },
  };

  return { reserver, endpointGate, requestGate, observer };
}
