/**
 * The retry budget (after Finagle's RetryBudget and Envoy's retry_budget): retries and
 * fallbacks together may add at most `ratio` of the requests seen in the last ten seconds,
 * plus a floor of `min_per_s` a second so a quiet pool can still retry. When every provider
 * fails, a pool without a budget turns each request into 1 + max_retries upstream calls; with
 * one, an outage costs at most (1 + ratio) times the normal load.
 */
import { WindowCounter } from "./window-counter.js";

export interface RetryBudgetConfig {
  enabled: boolean;
  /** Retries allowed per request, on average over the window (0.2 = one in five). */
  ratio: number;
  /** Retries allowed per second whatever the traffic. */
  min_per_s: number;
}

/** The window the budget looks back over (Finagle's default TTL). */
const WINDOW_MS = 10_000;

export class RetryBudget {
  private readonly requests = new WindowCounter(WINDOW_MS, 10);
  private readonly retries = new WindowCounter(WINDOW_MS, 10);
  /** Retries refused since start (for logs and tests). */
  refused = 0;

  constructor(private readonly config: () => RetryBudgetConfig) {}

  /** Count a client request. */
  onRequest(now: number): void {
    this.requests.add(now, 1);
  }

  /** Ask to spend one retry; true (and counted) when the budget allows it. */
  tryRetry(now: number): boolean {
    const c = this.config();
    if (!c.enabled) return true;
    const allowed = Math.max(c.min_per_s * (WINDOW_MS / 1000), c.ratio * this.requests.sum(now));
    if (this.retries.sum(now) + 1 > allowed) {
      this.refused++;
      return false;
    }
    this.retries.add(now, 1);
    return true;
  }
}
