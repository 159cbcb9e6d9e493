/**
 * Where cached answers live: in this process (memory-store.ts) or in Redis, shared by every
 * replica (redis-store.ts). Values are opaque bytes (an encoded ChatResponse).
 */
export interface CacheStore {
  readonly kind: "memory" | "redis";
  /** The value, or undefined when absent, expired or the store did not answer in time. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Store for ttlMs; failures are reported to the store's onError, never thrown. */
  set(key: string, value: Uint8Array, ttlMs: number): Promise<void>;
  /** Entries held (memory only; undefined for Redis). */
  readonly size?: number;
}
