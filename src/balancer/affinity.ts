/**
 * Prompt-cache affinity: requests that share a prompt prefix (a hash of the system prompt and
 * the leading messages) or an explicit affinity key (`routing.affinity_key`, else
 * `metadata.affinity_key`) land on the same endpoint while it can take them, so provider
 * prompt caches and vLLM's prefix (KV) cache hit.
 *
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018): every
 * candidate owns points on a hash ring (`replicas` per unit of weight); a key starts at its
 * hash and walks clockwise to the first endpoint whose calls in flight are below its capacity
 *
 *   capacity = ceil(load_factor * (in-flight over all candidates + 1) * weight / total weight)
 *
 * so no endpoint takes more than `load_factor` times its fair share, and when one is full,
 * sick (error rate above `max_error_rate`) or gone, only its keys move, to the next endpoint
 * on the ring. The pool passes only healthy, admitted endpoints, so "while it is healthy"
 * falls out.
 *
 * For most strategies the home endpoint is simply picked. Price-aware strategies (cost, slo)
 * are told where the prompt is likely cached instead (ctx.cacheAffinity), and price that
 * endpoint's share of cached prompt tokens at its cached-input rate: affinity then wins
 * exactly when the cache discount makes it the better deal.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.affinity`. */
export const affinityOptions = z.strictObject({
  /** Honour affinity at all. Default true: it costs one hash per request that has a key. */
  enabled: z.boolean().default(true),
  /** Without an explicit key, hash the prompt prefix. Default true. */
  prefix: z.boolean().default(true),
  /** Non-system messages hashed after the system prompt. Default 1: the first user turn
   * identifies a conversation, so every later turn of it lands where its history is cached. */
  prefix_messages: z.number().int("must be an integer").min(0, "must be >= 0").default(1),
  /** Prefixes shorter than this (estimated tokens) are not worth pinning. Default 1024: the
   * smallest prompt OpenAI and Anthropic cache. Set lower for vLLM prefix caching. */
  min_prefix_tokens: z.number().int("must be an integer").min(0, "must be >= 0").default(1024),
  /** Bound on an endpoint's load over its fair share (c in the paper), > 1. Default 1.25: the
   * paper's sweet spot; keys move rarely while no endpoint is overloaded. */
  load_factor: z.number().gt(1, "must be > 1").max(10, "must be <= 10").default(1.25),
  /** Ring points per unit of weight. Default 64: keys spread within a few percent. */
  replicas: z.number().int("must be an integer").min(1, "must be >= 1").max(1024, "must be <= 1024").default(64),
  /** An endpoint whose recent error rate exceeds this is passed over. Default 0.5. */
  max_error_rate: z.number().min(0, "must be >= 0").max(1, "must be <= 1").default(0.5),
});
export type AffinityOptions = z.infer<typeof affinityOptions>;

/** 32-bit FNV-1a, finished with a murmur3 mix: fast and well spread for ring points. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

interface Ring {
  points: Uint32Array;
  /** Index into `names` for each point. */
  owners: Uint16Array;
  names: string[];
}

function buildRing(candidates: readonly EndpointView[], replicas: number): Ring {
  const raw: [number, number][] = [];
  candidates.forEach((c, idx) => {
    const n = Math.max(1, Math.min(65_535, Math.round(replicas * c.weight)));
    for (let i = 0; i < n; i++) raw.push([hash32(`${c.name}#${i}`), idx]);
  });
  raw.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return {
    points: Uint32Array.from(raw, (p) => p[0]),
    owners: Uint16Array.from(raw, (p) => p[1]),
    names: candidates.map((c) => c.name),
  };
}

/** What to hash for a request, and how many prompt tokens a cache could serve. */
export interface AffinityKey {
  key: string;
  /** Estimated prompt tokens before the last message: what a warm cache would serve. */
  cachedTokens: number;
}

const CHARS_PER_TOKEN = 4;

function textLength(m: ChatRequest["messages"][number]): number {
  let n = m.content.length;
  for (const p of m.parts) if (p.part.case === "text") n += p.part.value.length;
  return n;
}

/** The request's affinity key: explicit, else its prompt prefix when long enough. */
export function affinityKeyOf(req: ChatRequest, explicit: string | undefined, opts: AffinityOptions): AffinityKey | undefined {
  const msgs = req.messages;
  let before = 0;
  for (let i = 0; i < msgs.length - 1; i++) before += textLength(msgs[i]!);
  const cachedTokens = Math.ceil(before / CHARS_PER_TOKEN);
  if (explicit) return { key: `k:${explicit}`, cachedTokens };
  if (!opts.prefix) return undefined;
  // System prompt(s) first, then the first `prefix_messages` others, never the last message
  // (the part that differs between requests).
  const parts: string[] = [];
  let chars = 0;
  let others = 0;
  for (let i = 0; i < msgs.length - 1; i++) {
    const m = msgs[i]!;
    if (m.role !== "system") {
      if (others >= opts.prefix_messages) break;
      others++;
    }
    parts.push(m.role, m.content);
    for (const p of m.parts) if (p.part.case === "text") parts.push(p.part.value);
    chars += textLength(m);
  }
  if (parts.length === 0 || chars / CHARS_PER_TOKEN < opts.min_prefix_tokens) return undefined;
  const h = createHash("sha256");
  h.update(req.model);
  for (const p of parts) h.update("\u0000").update(p);
  return { key: `p:${h.digest("base64")}`, cachedTokens };
}

export interface AffinityRouter {
  /** The home endpoint for `key` among `candidates`, or undefined when none can take it. */
  home<T extends EndpointView>(candidates: readonly T[], key: string): T | undefined;
}

export function createAffinityRouter(opts: AffinityOptions): AffinityRouter {
  // Rings by candidate set; candidate sets repeat (one per model and health state), so a
  // small cache serves nearly every pick.
  const rings = new Map<string, Ring>();
  const ringFor = (candidates: readonly EndpointView[]): Ring => {
    let id = "";
    for (const c of candidates) id += `${c.name}\u0000${c.weight}\u0000`;
    let ring = rings.get(id);
    if (!ring) {
      if (rings.size >= 64) rings.delete(rings.keys().next().value!);
      rings.set(id, (ring = buildRing(candidates, opts.replicas)));
    }
    return ring;
  };
  return {
    home<T extends EndpointView>(candidates: readonly T[], key: string): T | undefined {
      if (candidates.length === 0) return undefined;
      if (candidates.length === 1) return candidates[0];
      const ring = ringFor(candidates);
      let inFlight = 0;
      let totalWeight = 0;
      for (const c of candidates) {
        inFlight += c.inFlight;
        totalWeight += c.weight;
      }
      const h = hash32(key);
      // First point >= h (binary search), then clockwise.
      const pts = ring.points;
      let lo = 0;
      let hi = pts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (pts[mid]! < h) lo = mid + 1;
        else hi = mid;
      }
      const seen = new Uint8Array(candidates.length);
      let left = candidates.length;
      for (let k = 0; k < pts.length && left > 0; k++) {
        const idx = ring.owners[(lo + k) % pts.length]!;
        if (seen[idx]) continue;
        seen[idx] = 1;
        left--;
        const c = candidates[idx]!;
        const capacity = Math.ceil((opts.load_factor * (inFlight + 1) * c.weight) / totalWeight);
        if (c.inFlight < capacity && c.errorRate <= opts.max_error_rate) return c;
      }
      return undefined;
    },
  };
}

/**
 * Wrap a strategy with affinity: requests with a key go to their home endpoint (or, for
 * price-aware strategies, are priced with the home's cache discount); the rest, and requests
 * whose home cannot take them, are picked by `inner`.
 */
export function withAffinity(inner: Strategy, opts: AffinityOptions): Strategy {
  const router = createAffinityRouter(opts);
  const keys = new WeakMap<ChatRequest, AffinityKey | null>();
  const keyOf = (ctx: PickContext): AffinityKey | undefined => {
    let k = keys.get(ctx.request);
    if (k === undefined) {
      k = affinityKeyOf(ctx.request, ctx.affinityKey, opts) ?? null;
      keys.set(ctx.request, k);
    }
    return k ?? undefined;
  };
  const wrapped: Strategy = {
    name: inner.name,
    race: inner.race,
    priceAware: inner.priceAware,
    shortlist: inner.shortlist,
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      if (candidates.length <= 1) return inner.pick(candidates, ctx);
      const k = keyOf(ctx);
      if (!k) return inner.pick(candidates, ctx);
      // The home is chosen among what the strategy would consider (priority: its top tier).
      const home = router.home(inner.shortlist ? inner.shortlist(candidates) : candidates, k.key);
      if (!home) return inner.pick(candidates, ctx);
      if (!inner.priceAware) return home;
      return inner.pick(candidates, { ...ctx, cacheAffinity: { home, cachedTokens: k.cachedTokens } });
    },
  };
  if (inner.scores) {
    wrapped.scores = (candidates, ctx) => {
      const k = inner.priceAware ? keyOf(ctx) : undefined;
      const home = k && router.home(inner.shortlist ? inner.shortlist(candidates) : candidates, k.key);
      return inner.scores!(candidates, home ? { ...ctx, cacheAffinity: { home, cachedTokens: k.cachedTokens } } : ctx);
    };
  }
  return wrapped;
}
