/**
 * The response cache `cache:` asks for: in Redis when the server was given the shared-state
 * client (`state.backend: redis`), else in memory. Redis failures are logged at most once per
 * LOG_EVERY_MS (an outage must not flood the log); the cache then answers misses.
 */
import type { Redis } from "ioredis";
import type { CacheConfig } from "../config/schema.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { createMemoryCacheStore } from "./memory-store.js";
import { createRedisCacheStore } from "./redis-store.js";
import { createResponseCache, type ResponseCache } from "./response-cache.js";

export interface ConfiguredCacheOptions {
  config: () => CacheConfig;
  clock: Clock;
  logger?: Logger;
  /** The shared-state Redis client; without it the cache is per process. */
  redis?: Redis;
  /** Redis key prefix (`state.key_prefix`). Default "llmpool". */
  keyPrefix?: string;
}

const LOG_EVERY_MS = 10_000;

export function createConfiguredCache(opts: ConfiguredCacheOptions): ResponseCache {
  const c = opts.config();
  let lastLog = -Infinity;
  const store = opts.redis
    ? createRedisCacheStore({
        client: opts.redis,
        keyPrefix: opts.keyPrefix,
        timeoutMs: c.timeout_ms,
        onError(err) {
          const now = opts.clock.now();
          if (now - lastLog < LOG_EVERY_MS) return;
          lastLog = now;
          opts.logger?.warn({ err: err.message }, "response cache: redis unavailable; answering misses");
        },
      })
    : createMemoryCacheStore({ clock: opts.clock, maxEntries: c.max_entries, maxBytes: c.max_bytes });
  return createResponseCache({ config: opts.config, store });
}
