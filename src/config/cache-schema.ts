/** The `cache:` block: the exact-match response cache (README "Response cache"). */
import { z } from "zod";
import { posInt } from "./provider-schema.js";

export const cacheSchema = z.strictObject({
  /** Off by default: answers are served from the cache only when asked for. */
  enabled: z.boolean().default(false),
  /** How long an answer stays servable, seconds. Default one hour. */
  ttl_s: posInt.max(30 * 86_400, "must be <= 2592000 (30 days)").default(3600),
  /** Answers larger than this (encoded) are not stored. Default 256 KiB. */
  max_entry_bytes: posInt.max(64 * 1024 * 1024, "must be <= 67108864").default(256 * 1024),
  /** In-memory store only: most entries kept (least recently used go first). Default 10000. */
  max_entries: posInt.default(10_000),
  /** In-memory store only: most bytes kept. Default 64 MiB. */
  max_bytes: posInt.default(64 * 1024 * 1024),
  /** Redis store only: longest wait for a lookup or store; past it a lookup is a miss. Default 100 ms. */
  timeout_ms: posInt.max(10_000, "must be <= 10000").default(100),
});

export type CacheConfig = z.infer<typeof cacheSchema>;
