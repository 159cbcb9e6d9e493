/**
 * The cache store in Redis, shared by every replica (`state.backend: redis`). The ioredis
 * client is injected (the state layer owns the connection, its reconnects and its health). Each
 * operation is one command (GET, or SET with PX) bounded by `timeoutMs`: a slow or absent
 * Redis turns a lookup into a miss and a store into nothing, never into a waiting request.
 */
import type { Redis } from "ioredis";
import type { CacheStore } from "./store.js";

export interface RedisCacheStoreOptions {
  client: Redis;
  /** Keys are `${keyPrefix}:cache:${hash}`. Default "llmpool". */
  keyPrefix?: string;
  /** Longest wait for Redis per operation. Default 100 ms. */
  timeoutMs?: number;
  /** Told about failed or timed-out operations. */
  onError?: (err: Error) => void;
}

export function createRedisCacheStore(opts: RedisCacheStoreOptions): CacheStore {
  const { client } = opts;
  const prefix = `${opts.keyPrefix ?? "llmpool"}:cache:`;
  const timeoutMs = opts.timeoutMs ?? 100;
  const onError = opts.onError ?? (() => undefined);

  function bounded<T>(op: Promise<T>, what: string): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        onError(new Error(`redis cache ${what} timed out after ${timeoutMs} ms`));
        resolve(undefined);
      }, timeoutMs);
    });
    return Promise.race([
      op.then(
        (v) => v,
        (err: Error) => {
          onError(new Error(`redis cache ${what} failed: ${err.message}`));
          return undefined;
        },
      ),
      timeout,
    ]).finally(() => clearTimeout(timer));
  }

  return {
    kind: "redis",
    async get(key) {
      const v = await bounded(client.getBuffer(prefix + key), "get");
      return v ?? undefined;
    },
    async set(key, value, ttlMs) {
      await bounded(client.set(prefix + key, Buffer.from(value.buffer, value.byteOffset, value.byteLength), "PX", Math.max(1, Math.round(ttlMs))), "set");
    },
  };
}
