/**
 * The llmpool server: the Connect router (LLMPool, grpc.health.v1, reflection) plus /metrics,
 * /healthz and /readyz, on one port for gRPC, gRPC-Web and Connect over HTTP/1.1 and HTTP/2,
 * cleartext or TLS. `createLlmpoolServer()` builds it; `listen()` binds it, so tests listen
 * on port 0.
 */
import http from "node:http";
import type { AddressInfo, Server as NetServer } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter } from "@connectrpc/connect";
import { file_google_protobuf_struct } from "@bufbuild/protobuf/wkt";
import { file_llmpool_v1_llmpool, LLMPool } from "../../gen/llmpool/v1/llmpool_pb.js";
import { file_grpc_health_v1_health, Health } from "../../gen/grpc/health/v1/health_pb.js";
import {
  file_grpc_reflection_v1_reflection,
  ServerReflection as ReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ReflectionV1Alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { LoadedConfig } from "../config/load.js";
import { restartOnly } from "../config/restart-only.js";
import { createTablePricer } from "../cost/pricer.js";
import { createCostTracker, type CostTracker } from "../cost/tracker.js";
import type { Ledger } from "../cost/ledger.js";
import { createRaceTally } from "../metrics/race-tally.js";
import { createStateLog } from "../metrics/state-log.js";
import { createDashboard } from "../dashboard/serve.js";
import { roundMs } from "../core/round.js";
import { createStatsHistory, type StatsHistory } from "../metrics/history.js";
import { createMetrics } from "../metrics/metrics.js";
import { createLogObserver } from "../metrics/log-observer.js";
import { poolServing } from "../metrics/stats.js";
import { Pool, type PoolOptions } from "../pool/pool.js";
import { createStateRuntime, type StateRuntimeOptions } from "../state/runtime.js";
import type { PoolObserver } from "../pool/observer.js";
import { systemClock, type Clock } from "../util/clock.js";
import { createLogger, type Logger } from "../util/logger.js";
import { createContextValues, ConnectError, Code } from "@connectrpc/connect";
import { exposureProblem } from "../config/keys.js";
import { createMemoryKeyLimitStore, type KeyLimitStore } from "../limits/key-limits.js";
import { ANONYMOUS, CALLER, createGatewayAuth, type CallerIdentity, type GatewayAuth } from "./auth.js";
import { createCallerPolicy } from "./caller-policy.js";
import { createSharedKeyLimitStore } from "../state/key-limit-store.js";
import { replyEarly } from "./early-reply.js";
import { guardBody } from "./slow-clients.js";
import { registerHealth } from "./health.js";
import { createCors, headerValue, sendText, type Req, type Res } from "./http.js";
import { ConnectionTracker } from "./drain.js";
import { fixGrpcMessage } from "./grpc-message.js";
import { bind, createNetServers } from "./net-servers.js";
import { DescriptorIndex, registerReflection } from "./reflection.js";
import { admitFree, createLLMPoolService, registerLLMPool } from "./service.js";
import { createFastPath, type FastPathService } from "./fast-path.js";
import { withResponseCache } from "./cache-front.js";
import { createConfiguredCache } from "../cache/configured.js";
import type { Redis } from "ioredis";
import { createDoors, type DoorService } from "./doors/index.js";
import { createPoolCaps } from "../limits/pool-caps.js";

export interface ServerOptions {
  loaded: LoadedConfig;
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
  /** Extra pool observers (tests). */
  observers?: PoolObserver[];
  /** Node process metrics on /metrics (default true). */
  processMetrics?: boolean;
  /** How often grpc.health Watch re-checks, ms (default 1000). */
  healthWatchIntervalMs?: number;
  /** Cost ledger to use instead of opening `cost.ledger.path` (tests, benchmarks). */
  ledger?: Ledger;
  /** Folder of the built dashboard (default: dist/dashboard). */
  dashboardDir?: string;
  /** Redis client for the response cache instead of the shared state's (tests). */
  cacheRedis?: Redis;
  /** Key prefix of the cache's entries instead of `state.key_prefix` (tests). */
  redisKeyPrefix?: string;
  /** Where virtual keys' rpm/tpm are counted (default: in this process). */
  keyLimits?: KeyLimitStore;
  /** Redis client tuning for `state.backend: redis` (tests; defaults in src/state/redis.ts). */
  redis?: StateRuntimeOptions["redis"];
}

export interface LlmpoolServer {
  readonly pool: Pool;
  /** The last 15 minutes of per-provider counters at 1 s, served at /dashboard/history. */
  readonly history: StatsHistory;
  /** Cost totals, budgets and the ledger. */
  readonly cost: CostTracker;
  readonly logger: Logger;
  /**
   * Gateway authentication: every data surface calls `auth.authenticate()` on the request's
   * headers before reading its body (the HTTP front doors too; see callerOf).
   */
  readonly auth: GatewayAuth;
  /** The caller the server authenticated for this request (ANONYMOUS when none was needed). */
  callerOf(req: object): CallerIdentity;
  /** Bind; resolves with the bound address (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** The bound address, after listen(). */
  address(): AddressInfo;
  /** The `server.ollama_port` listener's address, when configured and bound. */
  ollamaAddress(): AddressInfo | undefined;
  /** Apply a new config: providers whose config is unchanged keep their state. */
  reload(loaded: LoadedConfig): ReturnType<Pool["reload"]>;
  /** The config in force. */
  readonly loaded: LoadedConfig;
  /** Stop accepting, let calls in flight finish (up to timeoutMs), then close everything. */
  close(timeoutMs?: number): Promise<void>;
  /** True once close() has begun. */
  readonly draining: boolean;
}

/** Bound on any call's deadline: the longest sane LLM call. */
const MAX_TIMEOUT_MS = 15 * 60_000;

const DESCRIPTORS = new DescriptorIndex(
  [
    file_llmpool_v1_llmpool,
    file_grpc_health_v1_health,
    file_grpc_reflection_v1_reflection,
    file_grpc_reflection_v1alpha_reflection,
    file_google_protobuf_struct,
  ],
  [LLMPool.typeName, Health.typeName, ReflectionV1.typeName, ReflectionV1Alpha.typeName],
);

export async function createLlmpoolServer(opts: ServerOptions): Promise<LlmpoolServer> {
  let loaded = opts.loaded;
  const logger = opts.logger ?? createLogger(loaded.config.log.level);
  let draining = false;
  let closing: Promise<void> | undefined;
  const drained = new AbortController();
  const clock = opts.clock ?? systemClock;
  const pricer = createTablePricer({ prices: () => loaded.config.cost.prices });
  const cost = await createCostTracker({ config: () => loaded.config, pricer, clock, logger, ledger: opts.ledger });
  // Shared limits, budgets and spend (`state:`, src/state); nothing to share with memory.
  const state = createStateRuntime({
    config: () => loaded.config,
    providers: () => pool.endpoints,
    onRefused: (e) => pool.resilience.limits.countRejection(e),
    cost,
    clock,
    logger,
    redis: opts.redis,
  });
  const shared = state.admission;
  const caps = createPoolCaps({ caps: () => loaded.config.pool });
  const poolOpts: PoolOptions = {
    clock: opts.clock,
    random: opts.random,
    observers: [caps.observer, ...(opts.observers ?? [])],
    logger,
    pricer,
    gates: shared ? [cost.budgets.endpointGate, shared.endpointGate] : [cost.budgets.endpointGate],
    requestGates: shared ? [caps.requestGate, shared.requestGate, cost.budgets.requestGate] : [caps.requestGate, cost.budgets.requestGate],
    reserver: shared?.reserver,
    shared: state.sharedMode,
  };
  const pool = new Pool(loaded, poolOpts);
  const getPool = () => pool;
  // Race counts persist in the ledger database beside the cost rows (src/metrics/race-tally.ts).
  const races = createRaceTally({
    store: cost.ledger,
    clock,
    onError: (err) => logger.error({ err: err.message }, "race counts write failed; will retry"),
  });
  // With state.backend redis the cache shares the state's connection (and its fail-fast settings).
  const cache = createConfiguredCache({
    config: () => loaded.config.cache,
    clock,
    logger,
    redis: opts.cacheRedis ?? state.backend.client,
    keyPrefix: opts.redisKeyPrefix ?? loaded.config.state.key_prefix,
  });
  const stateLog = createStateLog({ endpoints: () => pool.endpoints });
  const stats = { cost, races, stateLog, refresh: () => state.refresh() };
  const metrics = createMetrics(getPool, { processMetrics: opts.processMetrics, cost, state: state.backend, cache });
  // The OpenTelemetry SDK (~7 MB of heap) is loaded only when tracing is on.
  const tracing = loaded.config.telemetry.tracing.enabled
    ? (await import("../metrics/trace-observer.js")).createTracing({ config: loaded.config.telemetry.tracing })
    : undefined;
  if (tracing) pool.addObserver(tracing.observer);
  pool.addObserver(cost.observer);
  pool.addObserver(races.observer);
  pool.addObserver(stateLog.observer);
  if (shared) pool.addObserver(shared.observer);
  pool.addObserver(metrics.observer);
  pool.addObserver(createLogObserver(logger));
  await pool.start();
  stateLog.start();
  const history = createStatsHistory({
    source: {
      *providers() {
        const now = pool.clock.now();
        for (const e of pool.endpoints) yield { name: e.name, requests: e.requests, failures: e.failures, p50Ms: roundMs(e.latency.percentile(50, now) ?? 0) };
      },
    },
  });
  if (loaded.config.server.dashboard.enabled) history.start();
  const dashboard = createDashboard({ dir: opts.dashboardDir, history: () => history.snapshot() });

  const serving = () => !draining && poolServing(pool, "", stats).serving;

  const auth = createGatewayAuth(() => loaded.config.server.auth);
  // Virtual keys' rpm/tpm: cluster-wide when the state backend is shared.
  const keyStore = opts.keyLimits ?? (state.backend.shared ? createSharedKeyLimitStore(state.backend.counters, createMemoryKeyLimitStore()) : createMemoryKeyLimitStore());
  const callers = createCallerPolicy({ store: keyStore, clock, defaultModel: () => pool.router.defaultModel });
  const serviceOpts = { pool: getPool, draining: () => draining, stats, callers, limits: () => loaded.config.server.limits };
  // The cache answers after the caller's checks (validation, virtual key policy): a hit is free, not unchecked.
  const service = withResponseCache(createLLMPoolService(serviceOpts), () => cache, (req, ctx) => admitFree(serviceOpts, req, ctx));
  const callerByReq = new WeakMap<object, CallerIdentity>();
  const routes = (router: ConnectRouter) => {
    registerLLMPool(router, service);
    registerHealth(router, { serving, watchIntervalMs: opts.healthWatchIntervalMs, drainSignal: drained.signal });
    registerReflection(router, DESCRIPTORS);
  };
  const connectHandler = connectNodeAdapter({
    routes,
    // Authentication happened in the handler below, before connect-node read any body.
    contextValues: (req) => createContextValues().set(CALLER, callerByReq.get(req) ?? ANONYMOUS),
    readMaxBytes: loaded.config.server.max_request_bytes,
    maxTimeoutMs: MAX_TIMEOUT_MS,
  });
  const fastPath = createFastPath({
    service: service as FastPathService,
    maxRequestBytes: () => loaded.config.server.max_request_bytes,
    maxTimeoutMs: MAX_TIMEOUT_MS,
    limits: () => loaded.config.server.limits,
  });
  const doors = createDoors({
    service: service as unknown as DoorService,
    // Data paths were authenticated in the handler already; /health/providers is checked here.
    authenticate: (req) => callerByReq.get(req) ?? auth.authenticate(headerOf(req)),
    config: () => loaded.config.server,
  });
  const cors = createCors(() => loaded.config.server.cors);

  const tracker = new ConnectionTracker();
  const headerOf = (req: Req) => (name: string) => headerValue(req.headers, name);
  const handler = (req: Req, res: Res) => {
    tracker.onRequest(req, res);
    const server = loaded.config.server;
    guardBody(req, res, server.timeouts.body_ms, MAX_TIMEOUT_MS);
    if (cors.apply(req, res)) return;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (isDataPath(path)) {
      // Before any body byte is read: a caller without a valid key costs one header check.
      const caller = auth.authenticate(headerOf(req));
      if (caller instanceof ConnectError) return replyEarly(req, res, caller);
      // A declared length past the cap is refused before a byte of it is buffered.
      const declared = req.headers["content-length"];
      if (declared !== undefined && Number(declared) > server.max_request_bytes) {
        return replyEarly(req, res, new ConnectError(`request body of ${declared} bytes is larger than server.max_request_bytes (${server.max_request_bytes})`, Code.ResourceExhausted));
      }
      if (server.fast_path && fastPath(req, res, path, caller)) return;
      callerByReq.set(req, caller);
    }
    if (doors(req, res, path)) return;
    if (req.method === "GET") {
      if (path === "/metrics") {
        if (server.metrics.auth) {
          const caller = auth.authenticate(headerOf(req));
          if (caller instanceof ConnectError) return replyEarly(req, res, caller);
        }
        metrics.registry.metrics().then(
          (text) => sendText(res, 200, text, metrics.registry.contentType),
          (err: Error) => sendText(res, 500, `metrics failed: ${err.message}`),
        );
        return;
      }
      if (path === "/healthz") return sendText(res, 200, "ok\n");
      if (loaded.config.server.dashboard.enabled && dashboard.handle(path!, req, res)) return;
      if (path === "/readyz") {
        const s = poolServing(pool, "", stats);
        const ready = !draining && s.serving;
        return sendText(res, ready ? 200 : 503, `${ready ? "ready" : "not ready"}: ${s.healthy}/${s.total} providers healthy${draining ? ", draining" : ""}\n`);
      }
    }
    fixGrpcMessage(req, res);
    connectHandler(req as never, res as never);
  };

  let boundHost: string | undefined;
  const { netServer, ollamaServer } = createNetServers(loaded.config.server, handler, tracker);

  const server: LlmpoolServer = {
    pool,
    history,
    cost,
    logger,
    auth,
    callerOf: (req) => callerByReq.get(req) ?? ANONYMOUS,
    get draining() {
      return draining;
    },
    async listen(port = loaded.config.server.port, host = loaded.config.server.host) {
      const refused = exposureProblem(loaded.config.server, host);
      if (refused) throw new Error(refused);
      boundHost = host;
      if (ollamaServer) await bind(ollamaServer, loaded.config.server.ollama_port!, host);
      return bind(netServer, port, host);
    },
    address() {
      return netServer.address() as AddressInfo;
    },
    ollamaAddress() {
      return ollamaServer?.address() as AddressInfo | undefined;
    },
    get loaded() {
      return loaded;
    },
    reload(next) {
      const refused = boundHost === undefined ? undefined : exposureProblem(next.config.server, boundHost);
      if (refused) {
        logger.error({ error: refused }, "new config refused: keeping the config in force");
        return { added: [], removed: [], changed: [], kept: pool.endpoints.map((e) => e.name) };
      }
      const [was, now] = [loaded.config.cost.ledger, next.config.cost.ledger];
      if (now.path !== was.path || now.backend !== was.backend || now.url !== was.url) {
        logger.warn({ ledger: cost.ledger.path }, "cost.ledger changed: the new ledger is used after a restart");
      }
      const restart = restartOnly(loaded, next);
      if (restart.length > 0) logger.warn({ keys: restart }, "these settings changed but apply only after a restart");
      const result = pool.reload(next);
      stateLog.sweep(pool.endpoints); // baselines for the providers it added
      loaded = next;
      return result;
    },
    close(timeoutMs = loaded.config.server.shutdown_timeout_ms) {
      // Health says NOT_SERVING from now on; a second close() waits for the first.
      closing ??= (async () => {
        draining = true;
        drained.abort();
        const closed = Promise.all([netServer, ...(ollamaServer ? [ollamaServer] : [])].map((srv) => new Promise<void>((r) => srv.close(() => r())))).then(() => undefined);
        tracker.drain(); // GOAWAY to HTTP/2, close idle HTTP/1.1; busy ones close when done
        // Wait until every response is fully written (not just the pool's work done), or the
        // timeout; then give connections a moment to flush and close on their own.
        const deadline = Date.now() + timeoutMs;
        const until = (p: Promise<unknown>, ms: number) => {
          let timer: NodeJS.Timeout | undefined;
          return Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, ms))))]).finally(() =>
            clearTimeout(timer),
          );
        };
        if (!(await until(tracker.idle(), timeoutMs))) {
          logger.warn({ in_flight: pool.totals.inFlight, responses: tracker.inProgress, timeout_ms: timeoutMs }, "drain timeout: cutting calls still in flight");
        }
        await until(closed, Math.min(200, deadline - Date.now()));
        tracker.destroyAll();
        await closed;
        history.stop();
        stateLog.stop();
        await pool.close();
        races.close();
        await cost.close(); // writes the ledger's last batch
        await state.close();
        await tracing?.shutdown().catch((err: Error) => logger.warn({ err: err.message }, "trace export at shutdown failed"));
      })();
      return closing;
    },
  };
  return server;
}

/**
 * Paths that carry data, authenticated before their body is read: the LLMPool service and
 * the HTTP front doors (OpenAI and Anthropic under /v1/, Ollama under /api/).
 */
function isDataPath(path: string): boolean {
  return path.startsWith("/llmpool.v1.LLMPool/") || path.startsWith("/v1/") || path.startsWith("/api/");
}
