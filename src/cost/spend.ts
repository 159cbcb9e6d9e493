/**
 * Spend in the current budget periods (UTC day and UTC calendar month) per tenant and per
 * provider, plus reservations for calls in flight. Seeded from the ledger at start-up and kept
 * current by the tracker, so budget checks are map lookups, never queries.
 */
import type { Clock } from "../util/clock.js";

export type Scope = "tenant" | "provider";
export type Period = "daily" | "monthly";
export const PERIODS: readonly Period[] = ["daily", "monthly"];

interface Entry {
  day: number;
  month: number;
  /** Estimated cost of calls in flight (counted against budgets until they end). */
  reserved: number;
}

/** Start of the UTC day after `ms`. */
export function nextUtcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** Start of the UTC month after `ms`. */
export function nextUtcMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** "YYYY-MM-01" of the UTC month of `ms`. */
export function utcMonthStart(ms: number): string {
  return new Date(ms).toISOString().slice(0, 8) + "01";
}

const key = (scope: Scope, name: string) => (scope === "tenant" ? "t\u0000" : "p\u0000") + name;

export class SpendBook {
  private readonly entries = new Map<string, Entry>();
  private dayEndsAt: number;
  private monthEndsAt: number;

  constructor(private readonly clock: Clock) {
    const now = clock.wallNow();
    this.dayEndsAt = nextUtcDay(now);
    this.monthEndsAt = nextUtcMonth(now);
  }

  /** Seed from the ledger: spend today and this month, by tenant and provider. */
  seed(day: { tenants: Map<string, number>; providers: Map<string, number> }, month: { tenants: Map<string, number>; providers: Map<string, number> }): void {
    for (const [scope, d, m] of [
      ["tenant", day.tenants, month.tenants],
      ["provider", day.providers, month.providers],
    ] as const) {
      for (const [name, usd] of m) this.entry(scope, name).month = usd;
      for (const [name, usd] of d) this.entry(scope, name).day = usd;
    }
  }

  /**
   * Take the spend of the current periods from shared counters (src/state): every tenant's and
   * provider's day and month figures are replaced; reservations of local calls are kept.
   */
  replace(day: { tenants: Map<string, number>; providers: Map<string, number> }, month: { tenants: Map<string, number>; providers: Map<string, number> }): void {
    this.roll();
    for (const e of this.entries.values()) {
      e.day = 0;
      e.month = 0;
    }
    this.seed(day, month);
  }

  /** Start new periods when the wall clock has passed into them. Cheap: one comparison. */
  roll(): void {
    const now = this.clock.wallNow();
    if (now < this.dayEndsAt) return;
    const newMonth = now >= this.monthEndsAt;
    for (const e of this.entries.values()) {
      e.day = 0;
      if (newMonth) e.month = 0;
    }
    this.dayEndsAt = nextUtcDay(now);
    if (newMonth) this.monthEndsAt = nextUtcMonth(now);
  }

  /** When the period ends (wall ms). */
  resetsAt(period: Period): number {
    return period === "daily" ? this.dayEndsAt : this.monthEndsAt;
  }

  private entry(scope: Scope, name: string): Entry {
    const k = key(scope, name);
    let e = this.entries.get(k);
    if (!e) this.entries.set(k, (e = { day: 0, month: 0, reserved: 0 }));
    return e;
  }

  add(scope: Scope, name: string, usd: number): void {
    if (usd <= 0) return;
    const e = this.entry(scope, name);
    e.day += usd;
    e.month += usd;
  }

  reserve(scope: Scope, name: string, usd: number): void {
    if (usd > 0) this.entry(scope, name).reserved += usd;
  }

  release(scope: Scope, name: string, usd: number): void {
    if (usd <= 0) return;
    const e = this.entries.get(key(scope, name));
    if (e) e.reserved = Math.max(0, e.reserved - usd);
  }

  spent(scope: Scope, name: string, period: Period): number {
    const e = this.entries.get(key(scope, name));
    if (!e) return 0;
    return period === "daily" ? e.day : e.month;
  }

  reserved(scope: Scope, name: string): number {
    return this.entries.get(key(scope, name))?.reserved ?? 0;
  }

  /** Names in a scope with spend in the period, highest first. */
  top(scope: Scope, period: Period, limit: number): { name: string; usd: number }[] {
    const prefix = scope === "tenant" ? "t\u0000" : "p\u0000";
    const out: { name: string; usd: number }[] = [];
    for (const [k, e] of this.entries) {
      const usd = period === "daily" ? e.day : e.month;
      if (k.startsWith(prefix) && usd > 0) out.push({ name: k.slice(2), usd });
    }
    return out.sort((a, b) => b.usd - a.usd).slice(0, limit);
  }
}
