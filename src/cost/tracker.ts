/**
 * The cost tracker: a pool observer that prices nothing itself (the pool prices each call
 * with the Pricer) but accounts for every priced call: running totals by provider, model and
 * tenant, budget-period spend, reservations for calls in flight, and the ledger.
 *
 * Per call it does a few map updates and pushes one object onto the ledger's batch; the
 * SQLite write happens later, off the request path (see ledger.ts and bench/RESULTS.md).
 */
import type { Config } from "../config/schema.js";
import type { Endpoint } from "../pool/endpoint.js";
import type { CallOutcome } from "../core/outcome.js";
import type { PoolObserver } from "../pool/observer.js";
import type { RequestRecord } from "../core/outcome.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { createBudgets, type Budgets } from "./budgets.js";
import { openLedger } from "./ledger.js";
import { openPostgresLedger, redactUrl } from "./ledger-postgres.js";
import { utcDay, type Aggregate, type Ledger, type LedgerTotals } from "./ledger-types.js";
import type { Pricer } from "./pricing.js";
import { SpendBook, utcMonthStart } from "./spend.js";

export type CostDimension = "provider" | "model" | "tenant";

/** Mirrors llmpool.v1.CostEntry. */
export interface CostEntryOut extends Aggregate {
  key: string;
}

export interface CostTrackerOptions {
  config: () => Config;
  pricer: Pricer;
  clock: Clock;
  logger?: Logger;
  /** Use this ledger instead of opening `cost.ledger` (tests, benchmarks). */
  ledger?: Ledger;
}

export interface CostTracker {
  readonly ledger: Ledger;
  readonly budgets: Budgets;
  readonly spend: SpendBook;
  readonly observer: PoolObserver;
  /** Totals since the ledger began under one dimension, highest cost first. */
  entries(dim: CostDimension, filter?: readonly string[]): CostEntryOut[];
  /** Cost since the ledger began, USD. */
  totalCostUsd(): number;
  /**
   * Show cluster-wide totals (shared state, src/state): replace the totals by provider, model
   * and tenant, and the budget periods' spend, by these figures.
   */
  adopt(shared: {
    byProvider: Map<string, Aggregate>;
    byModel: Map<string, Aggregate>;
    byTenant: Map<string, Aggregate>;
    daily: Parameters<SpendBook["replace"]>[0];
    monthly: Parameters<SpendBook["replace"]>[1];
  }): void;
  /** Write what is queued and close the ledger. */
  close(): Promise<void>;
}

/** Keys shown per dimension in GetPoolStats (tenants are open-ended). */
const MAX_ENTRIES = 1000;

/** Open the ledger `cost.ledger` names (SQLite file or PostgreSQL); errors name the key. */
export async function openConfiguredLedger(config: Config, clock: Clock, logger?: Logger): Promise<Ledger> {
  const c = config.cost.ledger;
  if (c.backend === "postgres") {
    const shown = redactUrl(c.url!);
    try {
      return await openPostgresLedger({
        url: c.url!,
        flushIntervalMs: c.flush_interval_ms,
        maxBatch: c.max_batch,
        maxPending: c.max_pending,
        retentionDays: c.retention_days,
        clock,
        onError: (err) => logger?.error({ err: err.message, ledger: shown }, "cost ledger write failed; will retry"),
      });
    } catch (err) {
      throw new Error(`cost.ledger.url: cannot open ledger: ${(err as Error).message}`);
    }
  }
  try {
    return openLedger({
      path: c.path,
      writerThread: c.writer === "thread",
      flushIntervalMs: c.flush_interval_ms,
      maxBatch: c.max_batch,
      maxPending: c.max_pending,
      retentionDays: c.retention_days,
      clock,
      onError: (err) => logger?.error({ err: err.message, ledger: c.path }, "cost ledger write failed; will retry"),
    });
  } catch (err) {
    throw new Error(`cost.ledger.path: cannot open ledger ${JSON.stringify(c.path)}: ${(err as Error).message}`);
  }
}

/** Open (or take) the ledger and seed totals and budget-period spend from it. */
export async function createCostTracker(opts: CostTrackerOptions): Promise<CostTracker> {
  const { clock } = opts;
  const ledger = opts.ledger ?? (await openConfiguredLedger(opts.config(), clock, opts.logger));
  const spend = new SpendBook(clock);
  const now = clock.wallNow();
  let totals: LedgerTotals;
  try {
    const [day, month] = await Promise.all([ledger.spendSince(utcDay(now)), ledger.spendSince(utcMonthStart(now))]);
    spend.seed(day, month);
    totals = await ledger.totals();
  } catch (err) {
    if (!opts.ledger) await ledger.close();
    throw new Error(`cost.ledger: cannot read totals from ${ledger.path}: ${(err as Error).message}`);
  }
  const maps: Record<CostDimension, Map<string, Aggregate>> = {
    provider: totals.byProvider,
    model: totals.byModel,
    tenant: totals.byTenant,
  };
  let totalCost = 0;
  for (const a of totals.byProvider.values()) totalCost += a.costUsd;

  const budgets = createBudgets({ config: opts.config, spend, pricer: opts.pricer, clock });
  /** Reservations of calls in flight: request -> endpoint -> USD. */
  const reserved = new WeakMap<RequestRecord, Map<Endpoint, number>>();
  /** Priced attempts so far per request: the ledger row's `seq` (part of its unique key). */
  const priced = new WeakMap<RequestRecord, number>();

  const bump = (dim: CostDimension, key: string, o: CallOutcome, cost: number) => {
    const m = maps[dim];
    let a = m.get(key);
    if (!a) m.set(key, (a = { requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }));
    a.requests++;
    a.promptTokens += o.usage!.promptTokens;
    a.completionTokens += o.usage!.completionTokens;
    a.costUsd += cost;
  };

  const observer: PoolObserver = {
    attemptStarted(r: RequestRecord, e: Endpoint) {
      const est = budgets.estimateFor(r, e);
      if (!est) return;
      spend.reserve("tenant", r.tenant, est);
      spend.reserve("provider", e.name, est);
      let m = reserved.get(r);
      if (!m) reserved.set(r, (m = new Map()));
      m.set(e, (m.get(e) ?? 0) + est);
    },
    attemptEnded(r: RequestRecord, e: Endpoint, o: CallOutcome) {
      const m = reserved.get(r);
      const est = m?.get(e);
      if (est) {
        m!.delete(e);
        spend.release("tenant", r.tenant, est);
        spend.release("provider", e.name, est);
      }
      if (!o.usage) return;
      const cost = o.costUsd ?? 0;
      spend.roll();
      spend.add("tenant", r.tenant, cost);
      spend.add("provider", e.name, cost);
      bump("provider", e.name, o, cost);
      bump("model", r.model, o, cost);
      bump("tenant", r.tenant, o, cost);
      totalCost += cost;
      const seq = priced.get(r) ?? 0;
      priced.set(r, seq + 1);
      ledger.append({
        ts: clock.wallNow(),
        requestId: r.requestId,
        seq,
        tenant: r.tenant,
        provider: e.name,
        model: r.model,
        upstreamModel: e.models.get(r.model) ?? r.model,
        promptTokens: o.usage.promptTokens,
        completionTokens: o.usage.completionTokens,
        cachedTokens: o.usage.cachedTokens,
        estimated: (o.usage as { estimated?: boolean }).estimated === true,
        costUsd: cost,
      });
    },
  };

  return {
    ledger,
    budgets,
    spend,
    observer,
    entries(dim, filter = []) {
      const out: CostEntryOut[] = [];
      for (const [key, a] of maps[dim]) {
        if (filter.length === 0 || filter.includes(key)) out.push({ key, ...a });
      }
      return out.sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key)).slice(0, MAX_ENTRIES);
    },
    totalCostUsd: () => totalCost,
    adopt(shared) {
      maps.provider = shared.byProvider;
      maps.model = shared.byModel;
      maps.tenant = shared.byTenant;
      totalCost = 0;
      for (const a of shared.byProvider.values()) totalCost += a.costUsd;
      spend.replace(shared.daily, shared.monthly);
    },
    close: () => ledger.close(),
  };
}
