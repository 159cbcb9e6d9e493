/**
 * Pool-wide caps (`pool.max_concurrency`, `pool.rpm`): limits on the whole pool, all providers
 * together, checked once per request before any provider is chosen. A request refused here
 * fails RESOURCE_EXHAUSTED with a retry delay and never reaches an upstream. The counts are
 * this process's (with several replicas each has its own caps; provider limits can be shared,
 * README "Running several replicas").
 *
 * The gate counts a request only once every request gate admitted it (`requestStarted`), and
 * gives the slot back when that request ends, so a request another gate refused holds nothing.
 */
import type { RequestGate } from "../core/gate.js";
import { PoolError } from "../core/errors.js";
import type { RequestRecord } from "../core/outcome.js";
import { WindowCounter } from "./window-counter.js";

export interface PoolCapsOptions {
  /** The live caps, read per request so a reload applies at once (0 = no cap). */
  caps: () => { max_concurrency: number; rpm: number };
}

export interface PoolCaps {
  readonly requestGate: RequestGate;
  /** A pool observer: counts admitted requests in and out. */
  readonly observer: { requestStarted(r: RequestRecord): void; requestEnded(r: RequestRecord): void };
  /** Requests in flight that the concurrency cap counts. */
  readonly inFlight: number;
}

/** The retry delay suggested when the concurrency cap is reached (a slot frees when any call ends). */
export const CONCURRENCY_RETRY_MS = 1000;

export function createPoolCaps(opts: PoolCapsOptions): PoolCaps {
  const minute = new WindowCounter(60_000);
  const running = new Set<RequestRecord>();
  const requestGate: RequestGate = {
    name: "pool-caps",
    admit(_req, record) {
      const { max_concurrency, rpm } = opts.caps();
      if (max_concurrency > 0 && running.size >= max_concurrency) {
        return new PoolError(
          "resource_exhausted",
          `pool.max_concurrency ${max_concurrency} reached (${running.size} requests in flight); retry in ${CONCURRENCY_RETRY_MS / 1000}s`,
          { retryAfterMs: CONCURRENCY_RETRY_MS },
        );
      }
      if (rpm > 0) {
        const wait = minute.waitFor(record.startedAt, 1, rpm);
        if (wait > 0) {
          return new PoolError("resource_exhausted", `pool.rpm ${rpm} reached; retry in ${Math.ceil(wait / 1000)}s`, {
            retryAfterMs: Math.ceil(wait),
          });
        }
      }
      return undefined;
    },
  };
  return {
    requestGate,
    observer: {
      requestStarted(r) {
        // Counted even while uncapped, so a reload that sets a cap sees the calls already running.
        running.add(r);
        if (opts.caps().rpm > 0) minute.add(r.startedAt, 1);
      },
      requestEnded(r) {
        running.delete(r);
      },
    },
    get inFlight() {
      return running.size;
    },
  };
}
