/**
 * The response cache (exact match, `cache:` in the config): answers keyed by cacheKey() of the
 * request, stored as encoded ChatResponse bytes in a CacheStore (memory or Redis). It counts
 * hits, misses and stores for /metrics. Which answers are stored: complete ones (finish reason
 * stop, length or tool_calls) no larger than `max_entry_bytes`.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatResponseSchema, type ChatRequest, type ChatResponse } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { CacheConfig } from "../config/schema.js";
import { cacheKey } from "./key.js";
import type { CacheStore } from "./store.js";

export interface CacheStats {
  hits: { chat: number; stream: number };
  misses: { chat: number; stream: number };
  /** Answers written to the store. */
  stores: number;
  /** Answers not stored because they were over `max_entry_bytes`. */
  tooLarge: number;
}

export interface ResponseCacheOptions {
  config: () => CacheConfig;
  store: CacheStore;
}

export interface ResponseCache {
  readonly store: CacheStore;
  readonly stats: CacheStats;
  /** `max_entry_bytes` in force. */
  readonly maxEntryBytes: number;
  /** The key for a request, or undefined when the cache is off or the request says `cache: skip`. */
  keyFor(req: ChatRequest): string | undefined;
  /** The cached answer, counting a hit or a miss. */
  lookup(key: string, kind: "chat" | "stream"): Promise<ChatResponse | undefined>;
  /** Store a complete answer (in the background: never awaited on the request path). */
  save(key: string, res: MessageInitShape<typeof ChatResponseSchema>): void;
}

const STORABLE = new Set(["stop", "length", "tool_calls"]);

export function createResponseCache(opts: ResponseCacheOptions): ResponseCache {
  const { store } = opts;
  const stats: CacheStats = { hits: { chat: 0, stream: 0 }, misses: { chat: 0, stream: 0 }, stores: 0, tooLarge: 0 };
  return {
    store,
    stats,
    get maxEntryBytes() {
      return opts.config().max_entry_bytes;
    },
    keyFor(req) {
      // "skip", or a value the service will refuse as INVALID_ARGUMENT: not the cache's to answer.
      if (!opts.config().enabled || req.metadata.cache !== undefined) return undefined;
      return cacheKey(req);
    },
    async lookup(key, kind) {
      const bytes = await store.get(key);
      let res: ChatResponse | undefined;
      if (bytes) {
        try {
          res = fromBinary(ChatResponseSchema, bytes);
        } catch {
          res = undefined; // a foreign or corrupt value is a miss
        }
      }
      if (res) stats.hits[kind]++;
      else stats.misses[kind]++;
      return res;
    },
    save(key, res) {
      if (!STORABLE.has(res.finishReason ?? "")) return;
      const c = opts.config();
      // What varies per call is not stored.
      const bytes = toBinary(
        ChatResponseSchema,
        create(ChatResponseSchema, { ...res, requestId: "", latencyMs: 0, attempts: 0, upstreamCalls: 0, providersTried: [], costUsd: 0, cached: false }),
      );
      if (bytes.byteLength > c.max_entry_bytes) {
        stats.tooLarge++;
        return;
      }
      stats.stores++;
      void store.set(key, bytes, c.ttl_s * 1000);
    },
  };
}
