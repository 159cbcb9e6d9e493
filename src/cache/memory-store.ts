/**
 * The in-process cache store: a Map kept in least-recently-used order (a hit moves its entry to
 * the end, eviction takes from the front), bounded by entries and by bytes, entries expiring
 * after their TTL. get() and set() do no I/O; they return settled promises to share the
 * CacheStore interface with Redis.
 */
import type { Clock } from "../util/clock.js";
import type { CacheStore } from "./store.js";

export interface MemoryCacheStoreOptions {
  clock: Clock;
  /** Most entries kept. Default 10000. */
  maxEntries?: number;
  /** Most bytes of values kept. Default 64 MiB. */
  maxBytes?: number;
}

interface Entry {
  value: Uint8Array;
  /** Monotonic ms. */
  expiresAt: number;
}

export function createMemoryCacheStore(opts: MemoryCacheStoreOptions): CacheStore {
  const maxEntries = opts.maxEntries ?? 10_000;
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  const { clock } = opts;
  const map = new Map<string, Entry>();
  let bytes = 0;

  const remove = (key: string, e: Entry) => {
    map.delete(key);
    bytes -= e.value.byteLength;
  };

  return {
    kind: "memory",
    get size() {
      return map.size;
    },
    get(key) {
      const e = map.get(key);
      if (!e) return Promise.resolve(undefined);
      if (e.expiresAt <= clock.now()) {
        remove(key, e);
        return Promise.resolve(undefined);
      }
      // Most recently used goes last.
      map.delete(key);
      map.set(key, e);
      return Promise.resolve(e.value);
    },
    set(key, value, ttlMs) {
      if (value.byteLength > maxBytes) return Promise.resolve();
      const old = map.get(key);
      if (old) remove(key, old);
      map.set(key, { value, expiresAt: clock.now() + ttlMs });
      bytes += value.byteLength;
      for (const [k, e] of map) {
        if (map.size <= maxEntries && bytes <= maxBytes) break;
        remove(k, e);
      }
      return Promise.resolve();
    },
  };
}
