/**
 * The shared-state contract (DESIGN.md §4): what limits, cool-downs, budgets and spend need
 * from a store that every replica sees. A backend answers each operation atomically, in one
 * round trip; the pool never knows which backend is in use.
 *
 * Backends: `memory` (src/state/memory.ts: nothing to share; the in-process limiter and spend
 * book decide, exactly as a single process always has) and `redis` (src/state/redis.ts).
 */
import type { Redis } from "ioredis";
import type { GateBlock } from "../core/gate.js";
import type { SharedCounters } from "./counters.js";

/** One provider's configured limits, as the shared counters apply them. */
export interface SharedLimits {
  rpm: number;
  rpd: number;
  tpm: number;
  maxConcurrency: number;
  /** A concurrency slot held longer than this is given back (its replica is presumed dead). */
  leaseMs: number;
}

/** A budget's limits in USD (undefined = no limit for that period). */
export interface BudgetLimits {
  daily_usd?: number;
  monthly_usd?: number;
}

export interface ReserveInput {
  provider: string;
  limits: SharedLimits;
  /** Estimated prompt tokens (checked against upstream token budgets). */
  promptTokens: number;
  /** Tokens counted against tpm until the call settles: prompt estimate + max_tokens. */
  reserveTokens: number;
  /** Budget of the request's tenant, if one applies. */
  tenant?: { name: string; limits: BudgetLimits };
  /** The provider's own budget, if it has one. */
  providerBudget?: BudgetLimits;
  /** Expected cost of the call, held against both budgets until it settles. */
  estimateUsd: number;
  /** Wall-clock ms. */
  now: number;
}

export type ReserveVerdict =
  | { ok: true; lease: string }
  /** `block.kind` exhausted (a limit; retry later) or unavailable (can never fit). */
  | { ok: false; block: GateBlock; budget: boolean };

export interface SettleInput {
  provider: string;
  model: string;
  tenant: string;
  /** The lease of the reservation ("" when the call was never reserved: a racing leg). */
  lease: string;
  /** Wall ms when the reservation was made (its tpm bucket). */
  startedAt: number;
  reservedTokens: number;
  /** Tokens really used (undefined: unknown, keep the reservation). */
  usedTokens?: number;
  /** Budget reservation to release (0 = none). */
  estimateUsd: number;
  tenantBudget: boolean;
  providerBudget: boolean;
  usage?: { promptTokens: number; completionTokens: number };
  costUsd: number;
  /** What the upstream said: a cool-down, and its remaining/reset figures. */
  cooldownMs: number;
  cooldownWhy: string;
  remainingRequests?: number;
  resetRequestsMs?: number;
  remainingTokens?: number;
  resetTokensMs?: number;
  now: number;
}

export interface CostAggregate {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** Cluster-wide spend: this period's budget spend, and totals by provider, model and tenant. */
export interface SpendSnapshot {
  daily: { tenants: Map<string, number>; providers: Map<string, number> };
  monthly: { tenants: Map<string, number>; providers: Map<string, number> };
  byProvider: Map<string, CostAggregate>;
  byModel: Map<string, CostAggregate>;
  byTenant: Map<string, CostAggregate>;
}

/** Cluster-wide window sums of one provider (for stats). */
export interface SharedWindowStatus {
  rpmUsed: number;
  rpdUsed: number;
  tpmUsed: number;
  cooldownMs: number;
}

export interface StateBackend {
  readonly kind: "memory" | "redis";
  /** The Redis connection (backend redis), for other shared data such as the response cache. */
  readonly client?: Redis;
  /** True when counters are shared with other replicas (the pool then reserves before each call). */
  readonly shared: boolean;
  /** True while the backend answers. */
  readonly up: boolean;
  /**
   * Generic named windows for other limits (per gateway key, per tenant): shared like the
   * provider limits. Reject when the backend fails; the caller decides the fallback.
   */
  readonly counters: SharedCounters;
  /** Called on every change of `up` (once per change). */
  onAvailability(fn: (up: boolean) => void): void;
  /** Check every limit and budget of one call and count it, atomically. Rejects when the backend fails. */
  reserve(input: ReserveInput): Promise<ReserveVerdict>;
  /** A call ended: give back what it did not use, count what it did. Rejects when the backend fails. */
  settle(input: SettleInput): Promise<void>;
  /** Cluster-wide spend (undefined for a backend that shares nothing). */
  snapshot(now: number): Promise<SpendSnapshot | undefined>;
  /** Cluster-wide window use of one provider (undefined when not shared). */
  windows(provider: string, now: number): Promise<SharedWindowStatus | undefined>;
  close(): Promise<void>;
}
