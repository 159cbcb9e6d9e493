/**
 * The Redis backend of shared state (ioredis): every replica that names the same Redis and
 * `key_prefix` shares one set of windows, concurrency leases, cool-downs, budgets and spend.
 * Each operation is one Lua script (src/state/redis-scripts.ts), one round trip.
 *
 * Availability: commands fail fast instead of queueing while disconnected, and time out after
 * `commandTimeoutMs`, so no request waits on a dead Redis longer than that. The connection
 * comes back by itself with exponential backoff; `up` flips on the first failure and back on
 * the first success (a PING every `probeIntervalMs` while down), and each change is reported
 * once to `onAvailability` listeners.
 */
import { createRequire } from "node:module";
import type { Redis } from "ioredis";
import { nextUtcDay, nextUtcMonth } from "../cost/spend.js";
import { usd } from "../cost/budgets.js";
import type { GateBlock } from "../core/gate.js";
import { ADJUST_LUA, RESERVE_LUA, SETTLE_LUA, STATUS_LUA, TAKE_LUA } from "./redis-scripts.js";
import type { CostAggregate, ReserveInput, ReserveVerdict, SettleInput, SpendSnapshot, StateBackend } from "./state.js";

export interface RedisStateOptions {
  /** redis:// or rediss:// URL, credentials included. */
  url: string;
  /** Prefix of every key (default "llmpool"). */
  keyPrefix?: string;
  /** Longest wait for any command, ms (default 500: well under any sane request deadline, above a busy event loop's stalls). */
  commandTimeoutMs?: number;
  /** Longest wait for a connection, ms (default 1000). */
  connectTimeoutMs?: number;
  /** Reconnect backoff: first and longest delay, ms (defaults 50 and 2000). */
  reconnectMs?: { initial: number; max: number };
  /** While down, how often a PING checks whether Redis answers again, ms (default 500). */
  probeIntervalMs?: number;
}

const DAY_TTL_MS = 2 * 86_400_000;
const MONTH_TTL_MS = 63 * 86_400_000;

type Scripted = Redis & {
  llmpoolReserve(...args: (string | number)[]): Promise<(string | number)[]>;
  llmpoolSettle(...args: (string | number)[]): Promise<number>;
  llmpoolStatus(...args: (string | number)[]): Promise<string[]>;
  llmpoolTake(...args: (string | number)[]): Promise<string[]>;
  llmpoolAdjust(...args: (string | number)[]): Promise<number>;
};

/** "YYYY-MM-DD" and "YYYY-MM" of a wall time (UTC), the budget periods. */
function periods(now: number): { day: string; month: string } {
  const iso = new Date(now).toISOString();
  return { day: iso.slice(0, 10), month: iso.slice(0, 7) };
}

const num = (v: string | number | undefined) => (v === undefined || v === "" ? undefined : Number(v));
const limitArg = (v: number | undefined) => (v === undefined ? -1 : v);

// Loaded on first use: ioredis holds ~7 MB of heap that a process on the memory backend never needs.
const load = createRequire(import.meta.url);

export function createRedisState(opts: RedisStateOptions): StateBackend {
  const { Redis } = load("ioredis") as typeof import("ioredis");
  const prefix = opts.keyPrefix ?? "llmpool";
  const backoff = opts.reconnectMs ?? { initial: 50, max: 2000 };
  const redis = new Redis(opts.url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.commandTimeoutMs ?? 500,
    connectTimeout: opts.connectTimeoutMs ?? 1000,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(backoff.max, backoff.initial * 2 ** Math.min(times, 16)),
  }) as Scripted;
  redis.defineCommand("llmpoolReserve", { numberOfKeys: 9, lua: RESERVE_LUA });
  redis.defineCommand("llmpoolSettle", { numberOfKeys: 10, lua: SETTLE_LUA });
  redis.defineCommand("llmpoolStatus", { numberOfKeys: 4, lua: STATUS_LUA });
  redis.defineCommand("llmpoolTake", { numberOfKeys: 1, lua: TAKE_LUA });
  redis.defineCommand("llmpoolAdjust", { numberOfKeys: 1, lua: ADJUST_LUA });
  // ioredis also emits errors as events; they are reported through `up`, never thrown.
  redis.on("error", () => {
    if (redis.status !== "ready") setUp(false);
  });

  /** undefined until the first connection attempt ends, so a Redis missing at start-up is reported too. */
  let up: boolean | undefined;
  let closed = false;
  let probe: NodeJS.Timeout | undefined;
  const listeners: ((up: boolean) => void)[] = [];
  const setUp = (next: boolean) => {
    if (next === up || closed) return;
    up = next;
    for (const fn of listeners) fn(up);
    if (!up) startProbe();
  };
  const startProbe = () => {
    if (probe || closed) return;
    probe = setInterval(() => {
      if (redis.status !== "ready") return;
      redis.ping().then(() => {
        clearInterval(probe);
        probe = undefined;
        setUp(true);
      }, () => {});
    }, opts.probeIntervalMs ?? 500);
    probe.unref();
  };
  redis.on("ready", () => setUp(true));
  redis.on("close", () => setUp(false));
  redis.on("end", () => setUp(false));

  /** Run one command; a failure marks the backend down (and rethrows). */
  const run = async <T>(p: () => Promise<T>): Promise<T> => {
    try {
      const out = await p();
      if (up !== true) setUp(true);
      return out;
    } catch (err) {
      setUp(false);
      throw err;
    }
  };

  const k = (...parts: string[]) => `${prefix}:${parts.join(":")}`;

  function refusal(r: (string | number)[], input: ReserveInput): ReserveVerdict {
    const kind = r[1] as GateBlock["kind"];
    const code = String(r[2]);
    const wait = num(r[3]);
    const detail = num(r[4]);
    const l = input.limits;
    const untilDay = nextUtcDay(input.now) - input.now;
    const untilMonth = nextUtcMonth(input.now) - input.now;
    const block = (reason: string, retryAfterMs?: number, budget = false): ReserveVerdict => ({ ok: false, budget, block: { kind, reason, retryAfterMs } });
    switch (code) {
      case "max_concurrency":
        // Slots free up on other replicas, which cannot wake this one's queue: look again soon.
        return block(`max_concurrency ${l.maxConcurrency} reached (cluster-wide)`, 100);
      case "cooldown":
        return block(`cooling down for ${Math.ceil(wait ?? 0)} ms (${String(r[4]) || "upstream 429"}, shared)`, wait);
      case "upstream_requests":
        return block(`upstream request budget spent; resets in ${Math.ceil(wait ?? 0)} ms (shared)`, wait);
      case "upstream_tokens":
        return block(`upstream token budget too low (${detail} left); resets in ${Math.ceil(wait ?? 0)} ms (shared)`, wait);
      case "rpm":
      case "rpd":
      case "tpm": {
        const limit = code === "rpm" ? l.rpm : code === "rpd" ? l.rpd : l.tpm;
        return block(`${code} ${limit} reached (cluster-wide)`, wait === undefined || wait < 0 ? undefined : wait);
      }
      case "tpm_prompt":
        return block(`prompt of ~${detail} tokens exceeds tpm ${l.tpm}`);
      default: {
        // <scope>_<period>_<spent|would_exceed>
        const [scope, period, ...rest] = code.split("_");
        const what = rest.join("_");
        const limits = scope === "tenant" ? input.tenant?.limits : input.providerBudget;
        const limit = period === "daily" ? limits?.daily_usd : limits?.monthly_usd;
        const label = scope === "tenant" ? `tenant ${JSON.stringify(input.tenant?.name ?? "")} ${period} budget ${usd(limit ?? 0)}` : `provider ${input.provider} ${period} budget ${usd(limit ?? 0)}`;
        const reason =
          what === "spent"
            ? `${label} is spent (${usd(detail ?? 0)})`
            : `${label} would be exceeded (${usd(detail ?? 0)} spent or in flight, this request ~${usd(input.estimateUsd)})`;
        return block(reason, period === "daily" ? untilDay : untilMonth, true);
      }
    }
  }

  let leaseSeq = 0;
  const leaseBase = `${process.pid}.${Math.random().toString(36).slice(2, 10)}.`;

  return {
    kind: "redis",
    client: redis,
    shared: true,
    get up() {
      return up === true;
    },
    counters: {
      async take(key, spec, amount, now) {
        const r = await run(() => redis.llmpoolTake(k("c", key, `${spec.windowMs}x${spec.buckets}`), now, spec.windowMs, spec.buckets, spec.limit, amount));
        const wait = Number(r[2]);
        return { ok: r[0] === "1", used: Number(r[1]), retryAfterMs: wait < 0 ? Infinity : wait };
      },
      async adjust(key, spec, at, amount, now) {
        await run(() => redis.llmpoolAdjust(k("c", key, `${spec.windowMs}x${spec.buckets}`), now, spec.windowMs, spec.buckets, at, amount));
      },
    },
    onAvailability(fn) {
      listeners.push(fn);
    },

    async reserve(input) {
      const { day, month } = periods(input.now);
      const p = input.provider;
      const lease = leaseBase + ++leaseSeq;
      const l = input.limits;
      const tl = input.tenant?.limits;
      const pl = input.providerBudget;
      const r = await run(() =>
        redis.llmpoolReserve(
          k("w", p, "rpm"), k("w", p, "rpd"), k("w", p, "tpm"), k("cc", p), k("cool", p), k("up", p),
          k("spend", "d", day), k("spend", "m", month), k("reserved"),
          input.now, lease, l.leaseMs, l.rpm, l.rpd, l.tpm, l.maxConcurrency, input.promptTokens, input.reserveTokens,
          input.tenant ? `t:${input.tenant.name}` : "", pl ? `p:${p}` : "", input.estimateUsd,
          limitArg(tl?.daily_usd), limitArg(tl?.monthly_usd), limitArg(pl?.daily_usd), limitArg(pl?.monthly_usd),
          Math.max(l.leaseMs * 2, 60_000),
        ),
      );
      if (Number(r[0]) === 0) return { ok: true, lease };
      return refusal(r, input);
    },

    async settle(s: SettleInput) {
      const { day, month } = periods(s.now);
      const p = s.provider;
      await run(() =>
        redis.llmpoolSettle(
          k("w", p, "tpm"), k("cc", p), k("reserved"), k("spend", "d", day), k("spend", "m", month), k("cool", p), k("up", p),
          k("cost", "provider"), k("cost", "model"), k("cost", "tenant"),
          s.now, s.lease, s.startedAt, s.reservedTokens, s.usedTokens ?? -1,
          s.tenantBudget ? `t:${s.tenant}` : "", s.providerBudget ? `p:${p}` : "", s.estimateUsd,
          String(s.costUsd), s.usage ? 1 : 0, s.usage?.promptTokens ?? 0, s.usage?.completionTokens ?? 0,
          p, s.model, s.tenant, DAY_TTL_MS, MONTH_TTL_MS,
          Math.max(0, Math.ceil(s.cooldownMs)), s.cooldownWhy,
          s.remainingRequests ?? -1, s.resetRequestsMs ?? 0, s.remainingTokens ?? -1, s.resetTokensMs ?? 0,
        ),
      );
    },

    async snapshot(now) {
      const { day, month } = periods(now);
      const res = await run(() =>
        redis
          .multi()
          .hgetall(k("spend", "d", day))
          .hgetall(k("spend", "m", month))
          .hgetall(k("cost", "provider"))
          .hgetall(k("cost", "model"))
          .hgetall(k("cost", "tenant"))
          .exec(),
      );
      const val = (i: number) => {
        const [err, v] = res?.[i] ?? [new Error("no reply"), undefined];
        if (err) throw err;
        return v as Record<string, string>;
      };
      const split = (h: Record<string, string>) => {
        const tenants = new Map<string, number>();
        const providers = new Map<string, number>();
        for (const [f, v] of Object.entries(h)) (f.startsWith("t:") ? tenants : providers).set(f.slice(2), Number(v));
        return { tenants, providers };
      };
      const aggregates = (h: Record<string, string>) => {
        const m = new Map<string, CostAggregate>();
        for (const [f, v] of Object.entries(h)) {
          const cut = f.lastIndexOf("\n");
          const key = f.slice(0, cut);
          let a = m.get(key);
          if (!a) m.set(key, (a = { requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }));
          const n = Number(v);
          switch (f.slice(cut + 1)) {
            case "r": a.requests = n; break;
            case "p": a.promptTokens = n; break;
            case "c": a.completionTokens = n; break;
            case "u": a.costUsd = n; break;
          }
        }
        return m;
      };
      const snap: SpendSnapshot = {
        daily: split(val(0)),
        monthly: split(val(1)),
        byProvider: aggregates(val(2)),
        byModel: aggregates(val(3)),
        byTenant: aggregates(val(4)),
      };
      return snap;
    },

    async windows(provider, now) {
      const r = await run(() => redis.llmpoolStatus(k("w", provider, "rpm"), k("w", provider, "rpd"), k("w", provider, "tpm"), k("cool", provider), now));
      return { rpmUsed: Number(r[0]), rpdUsed: Number(r[1]), tpmUsed: Number(r[2]), cooldownMs: Math.max(0, Number(r[3])) };
    },

    async close() {
      closed = true;
      if (probe) clearInterval(probe);
      // QUIT lets the last settles (sent while draining) reach Redis; a dead one is cut at once.
      if (redis.status === "ready") {
        const t = setTimeout(() => redis.disconnect(), 1000);
        await redis.quit().catch(() => undefined);
        clearTimeout(t);
      }
      redis.disconnect();
    },
  };
}
