/**
 * Virtual keys' rpm/tpm (limits/key-limits.ts) on the shared counters (counters.ts), so with
 * `state.backend: redis` a key's limits hold across every replica. When the backend fails, the
 * call is counted by this replica's own store instead (like `on_unavailable: local`), so a
 * Redis outage never refuses a caller by itself.
 */
import type { KeyLimitStore } from "../limits/key-limits.js";
import type { SharedCounters, WindowSpec } from "./counters.js";

const MINUTE = 60_000;
const spec = (limit: number): WindowSpec => ({ windowMs: MINUTE, buckets: 60, limit });

export function createSharedKeyLimitStore(counters: SharedCounters, local: KeyLimitStore): KeyLimitStore {
  const rpmKey = (key: string) => `vk:${key}:rpm`;
  const tpmKey = (key: string) => `vk:${key}:tpm`;
  const tpmLimits = new Map<string, number>();
  return {
    async take(key, limits, tokens, now) {
      try {
        if (limits.rpm !== undefined) {
          const r = await counters.take(rpmKey(key), spec(limits.rpm), 1, now);
          if (!r.ok) return r.retryAfterMs;
        }
        if (limits.tpm !== undefined) {
          tpmLimits.set(key, limits.tpm);
          const t = await counters.take(tpmKey(key), spec(limits.tpm), Math.min(tokens, limits.tpm), now);
          if (!t.ok) {
            // Give the request slot back: this call is not made.
            if (limits.rpm !== undefined) await counters.adjust(rpmKey(key), spec(limits.rpm), now, -1, now);
            return t.retryAfterMs;
          }
        }
        return 0;
      } catch {
        return local.take(key, limits, tokens, now);
      }
    },
    settle(key, at, delta, now) {
      const tpm = tpmLimits.get(key);
      if (tpm === undefined) return;
      counters.adjust(tpmKey(key), spec(tpm), at, delta, now).catch(() => local.settle(key, at, delta, now));
    },
  };
}
