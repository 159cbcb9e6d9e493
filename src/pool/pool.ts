/**
 * The pool: the request lifecycle. For each request it resolves the model to candidate
 * endpoints, lets the strategy pick one, calls it, and on a retryable failure moves on
 * (fallback) or tries again (retry), until one answers, the attempts run out, or the caller's
 * deadline passes. Every outcome is recorded on the endpoint and told to the observers.
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { EndpointView, PickContext, Strategy } from "../balancer/strategy.js";
import { createStrategy, hasStrategy, availableStrategies } from "../balancer/registry.js";
import { raceChat, raceStream, type RaceHost } from "../balancer/race.js";
import type { LoadedConfig } from "../config/load.js";
import type { StrategyName } from "../config/schema.js";
import { costOf, createConfigPricer, type Pricer } from "../cost/pricing.js";
import {
  ProviderError,
  type ChatResult,
  type FinishReason,
  type ServedBy,
  type StreamEvent,
  type TokenUsage,
  type ToolCallDeltaOut,
} from "../providers/types.js";
import { systemClock, type Clock } from "../util/clock.js";
import { redact } from "../util/redact.js";
import { attemptSignal, backoffMs, delay, type AttemptSignal } from "./attempt.js";
import { buildEndpoints } from "./build.js";
import type { CallRole, Endpoint } from "./endpoint.js";
import { PoolError, invalidArgument } from "./errors.js";
import type { PoolObserver, RequestRecord } from "./observer.js";
import type { EndpointGate, GateBlock, GateRequest, RequestGate } from "./gate.js";
import { ModelRouter, type Route } from "./router.js";
import { estimatePromptTokens, estimateTokens } from "./tokens.js";
import { SlidingWindow } from "../metrics/window.js";

export interface PoolOptions {
  clock?: Clock;
  random?: () => number;
  observers?: PoolObserver[];
  /** Per-endpoint admission (breakers, limits, budgets); see gate.ts. */
  gates?: EndpointGate[];
  /** Per-request admission (tenant budgets). */
  requestGates?: RequestGate[];
  /** Prices per endpoint and upstream model (default: each provider's `pricing`). */
  pricer?: Pricer;
}

export interface CallContext {
  /** Aborts on client cancel or deadline (connect's handler signal). */
  signal: AbortSignal;
  requestId: string;
  /** Provider named by the `x-llmpool-provider` header. */
  preferredProvider?: string;
}

export interface ChatOutput {
  requestId: string;
  provider: string;
  result: ChatResult;
  usage: TokenUsage & { estimated: boolean };
  attempts: number;
  upstreamCalls: number;
  latencyMs: number;
  costUsd: number;
  providersTried: string[];
}

/** One chunk for the caller; fields match StreamChatResponse. */
export interface StreamChunkOut {
  delta?: string;
  toolCalls?: ToolCallDeltaOut[];
  id?: string;
  model?: string;
  provider?: string;
  requestId?: string;
  finishReason?: string;
  rawFinishReason?: string;
  usage?: { promptTokens: number; completionTokens: number; totalTokens: number; cachedTokens: number; estimated: boolean };
  attempts?: number;
  upstreamCalls?: number;
  costUsd?: number;
  ttftMs?: number;
  latencyMs?: number;
}

/** The pool's view of one request while it runs. */
export interface Plan {
  record: RequestRecord;
  routes: Route[];
  strategy: Strategy;
  pick: PickContext & { attempt: number; now: number };
  /** What gates are told about the request (upstreamModel set per route while checking). */
  gate: GateRequest & { upstreamModel: string };
  tried: Set<Endpoint>;
  errors: ProviderError[];
  /** Why endpoints were passed over by a gate in the last choice, by endpoint name. */
  blocked: Map<string, GateBlock>;
  preferred?: string;
  only: boolean;
  excluded: Set<string>;
  needsVision: boolean;
  needsTools: boolean;
  /** Some image is an http(s) URL: providers that take only bytes cannot serve it. */
  needsImageUrl?: boolean;
}

/** Endpoints, router and strategies for one config version; replaced whole on reload. */
interface Generation {
  loaded: LoadedConfig;
  endpoints: Endpoint[];
  byName: Map<string, Endpoint>;
  router: ModelRouter;
  strategies: Map<string, Strategy>;
  loadedAt: number;
}

export class Pool {
  private gen: Generation;
  readonly clock: Clock;
  private readonly random: () => number;
  private readonly observers: PoolObserver[];
  private readonly gates: EndpointGate[];
  private readonly requestGates: RequestGate[];
  readonly pricer: Pricer;
  readonly startedAt: number;

  /** Pool-wide counters. */
  readonly totals = {
    requests: 0,
    successes: 0,
    failures: 0,
    upstreamCalls: 0,
    retries: 0,
    fallbacks: 0,
    inFlight: 0,
  };
  readonly latency = new SlidingWindow(60_000);

  constructor(loaded: LoadedConfig, opts: PoolOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.observers = opts.observers ?? [];
    this.gates = opts.gates ?? [];
    this.requestGates = opts.requestGates ?? [];
    this.pricer = opts.pricer ?? createConfigPricer();
    this.startedAt = this.clock.now();
    this.gen = this.generation(loaded);
  }

  private generation(loaded: LoadedConfig, reuse?: Generation): Generation {
    const endpoints = buildEndpoints(loaded.config, this.clock, reuse && ((cfg) => {
      const old = reuse.byName.get(cfg.name);
      return old && JSON.stringify(old.config) === JSON.stringify(cfg) ? old : undefined;
    }));
    const strategies = new Map<string, Strategy>();
    const { strategy, strategy_options, affinity } = loaded.config.pool;
    strategies.set(strategy, createStrategy(strategy, strategy_options, affinity));
    return {
      loaded,
      endpoints,
      byName: new Map(endpoints.map((e) => [e.name, e])),
      router: new ModelRouter(endpoints, loaded.config.pool.default_model),
      strategies,
      loadedAt: this.clock.wallNow(),
    };
  }

  get config() {
    return this.gen.loaded.config;
  }
  /** Requests waiting for a provider (the queue, src/limits). */
  get queueDepth(): number {
    return 0;
  }
  get configVersion() {
    return this.gen.loaded.version;
  }
  get configLoadedAt() {
    return this.gen.loadedAt;
  }
  get endpoints(): readonly Endpoint[] {
    return this.gen.endpoints;
  }
  get router(): ModelRouter {
    return this.gen.router;
  }
  endpoint(name: string): Endpoint | undefined {
    return this.gen.byName.get(name);
  }

  addObserver(o: PoolObserver): void {
    this.observers.push(o);
  }

  addGate(g: EndpointGate): void {
    this.gates.push(g);
  }

  addRequestGate(g: RequestGate): void {
    this.requestGates.push(g);
  }

  /** Start-up work: model discovery. */
  async start(signal: AbortSignal = AbortSignal.timeout(10_000)): Promise<void> {
    const discovering = this.gen.endpoints.filter((e) => e.config.discover_models && e.provider.listModels);
    if (discovering.length === 0) return;
    await Promise.all(
      discovering.map(async (e) => {
        try {
          for (const m of await e.provider.listModels!(signal)) if (!e.models.has(m)) e.models.set(m, m);
        } catch (err) {
          e.lastError = err instanceof ProviderError ? err.describe() : redact(String(err));
        }
      }),
    );
    this.gen = { ...this.gen, router: new ModelRouter(this.gen.endpoints, this.config.pool.default_model) };
  }

  /** Swap in a new config; endpoints whose config is unchanged keep their state. */
  reload(loaded: LoadedConfig): { added: string[]; removed: string[]; kept: string[] } {
    const old = this.gen;
    const next = this.generation(loaded, old);
    const kept = next.endpoints.filter((e) => old.byName.get(e.name) === e).map((e) => e.name);
    const removed = old.endpoints.filter((e) => next.byName.get(e.name) !== e);
    this.gen = next;
    for (const e of removed) void this.closeWhenIdle(e);
    return {
      added: next.endpoints.filter((e) => old.byName.get(e.name) !== e).map((e) => e.name),
      removed: removed.map((e) => e.name),
      kept,
    };
  }

  private async closeWhenIdle(e: Endpoint): Promise<void> {
    while (e.inFlight > 0) await new Promise((r) => setTimeout(r, 100).unref());
    await e.provider.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.gen.endpoints.map((e) => e.provider.close().catch(() => undefined)));
  }

  // ---------------------------------------------------------------------------------------
  // Planning: which endpoints may serve this request, with which strategy.

  private strategyFor(name: string | undefined): Strategy {
    const key = name || this.config.pool.strategy;
    let s = this.gen.strategies.get(key);
    if (!s) {
      if (!hasStrategy(key)) {
        throw invalidArgument(
          "routing.strategy",
          `unknown strategy ${JSON.stringify(key)}; available: ${availableStrategies().join(", ")}`,
        );
      }
      s = createStrategy(key as StrategyName, this.config.pool.strategy_options, this.config.pool.affinity);
      this.gen.strategies.set(key, s);
    }
    return s;
  }

  private plan(req: ChatRequest, ctx: CallContext, kind: "chat" | "stream"): Plan {
    const routing = req.routing;
    const preferred = routing?.provider || ctx.preferredProvider || undefined;
    const byName = this.gen.byName;
    if (preferred && !byName.has(preferred)) {
      throw invalidArgument(
        routing?.provider ? "routing.provider" : "x-llmpool-provider",
        `no provider named ${JSON.stringify(preferred)}`,
      );
    }
    if (routing?.onlyProvider && !preferred) {
      throw invalidArgument("routing.only_provider", "needs routing.provider");
    }
    const excluded = new Set<string>();
    for (const [i, name] of (routing?.excludeProviders ?? []).entries()) {
      if (!byName.has(name)) {
        throw invalidArgument(`routing.exclude_providers[${i}]`, `no provider named ${JSON.stringify(name)}`);
      }
      excluded.add(name);
    }
    const strategy = this.strategyFor(routing?.strategy);
    const { model, routes } = this.gen.router.resolve(req.model);
    let needsVision = false;
    let needsImageUrl = false;
    for (const m of req.messages) {
      for (const p of m.parts) {
        if (p.part.case !== "image") continue;
        needsVision = true;
        const src = p.part.value.source;
        if (src.case === "url" && !src.value.startsWith("data:")) needsImageUrl = true;
      }
    }
    const tenant = req.metadata.tenant ?? "";
    const record: RequestRecord = {
      requestId: ctx.requestId,
      kind,
      model,
      tenant,
      startedAt: this.clock.now(),
      provider: "",
      attempts: 0,
      upstreamCalls: 0,
      providersTried: [],
      retries: 0,
      fallbacks: 0,
      costUsd: 0,
      latencyMs: 0,
    };
    const promptTokens = estimatePromptTokens(req);
    const maxTokens = req.maxTokens ?? 256;
    const upstreamOf = (v: EndpointView) => routes.find((r) => r.endpoint === v)?.upstreamModel ?? "";
    return {
      record,
      routes,
      strategy,
      pick: {
        request: req,
        stream: kind === "stream",
        promptTokens,
        maxTokens,
        affinityKey: routing?.affinityKey || req.metadata.affinity_key || undefined,
        attempt: 1,
        now: 0,
        random: this.random,
        pricing: (v) => this.pricer.pricing(v as Endpoint, upstreamOf(v)),
      },
      gate: { request: req, record, stream: kind === "stream", promptTokens, maxTokens, upstreamModel: "" },
      tried: new Set(),
      errors: [],
      blocked: new Map(),
      preferred,
      only: routing?.onlyProvider ?? false,
      excluded,
      needsVision,
      needsTools: req.tools.length > 0,
      needsImageUrl,
    };
  }

  /** Routes that could serve this request at all (ignoring health and load). */
  private fits(plan: Plan, r: Route): boolean {
    const e = r.endpoint;
    if (plan.excluded.has(e.name)) return false;
    if (plan.only && e.name !== plan.preferred) return false;
    const caps = e.capabilities;
    if (plan.needsVision && !caps.vision) return false;
    if (plan.needsImageUrl && caps.imageUrls === false) return false;
    if (plan.needsTools && !caps.tools) return false;
    if (caps.contextWindow > 0 && plan.pick.promptTokens > caps.contextWindow) return false;
    return true;
  }

  /**
   * Choose the endpoint for the next attempt: the preferred provider first, then the
   * strategy's pick among healthy, unsaturated endpoints not yet tried; when all have been
   * tried, any of them again.
   */
  private choose(plan: Plan): Route | undefined {
    const now = this.clock.now();
    plan.pick.now = now;
    plan.blocked.clear();
    const fresh: Route[] = [];
    const again: Route[] = [];
    for (const r of plan.routes) {
      const e = r.endpoint;
      if (!e.healthy || e.saturated || !this.fits(plan, r)) continue;
      if (this.gates.length > 0) {
        plan.gate.upstreamModel = r.upstreamModel;
        let block: GateBlock | undefined;
        for (const g of this.gates) if ((block = g.check(e, plan.gate, now))) break;
        if (block) {
          plan.blocked.set(e.name, block);
          continue;
        }
      }
      (plan.tried.has(e) ? again : fresh).push(r);
    }
    const pool = fresh.length > 0 ? fresh : again;
    if (pool.length === 0) return undefined;
    if (plan.preferred && plan.pick.attempt === 1) {
      const pref = pool.find((r) => r.endpoint.name === plan.preferred);
      if (pref) return pref;
    }
    const views = pool.map((r) => r.endpoint as EndpointView);
    const picked = plan.strategy.pick(views, plan.pick);
    if (!picked) return undefined;
    for (const o of this.observers) o.picked?.(plan.record, views, picked, plan.strategy, plan.pick);
    return pool.find((r) => r.endpoint === picked);
  }

  /** Why no endpoint could be chosen: the final error of a request. */
  private exhausted(plan: Plan): PoolError {
    const r = plan.record;
    const extra = { attempts: r.attempts, providers: r.providersTried };
    const errs = plan.errors;
    if (errs.length > 0) {
      const lastByProvider = new Map<string, ProviderError>();
      for (const e of errs) lastByProvider.set(e.provider, e);
      const detail = [...lastByProvider].map(([p, e]) => `${p}: ${e.describe()}`).join("; ");
      const last = errs[errs.length - 1]!;
      if (last.scope === "request") {
        return new PoolError("invalid_argument", `upstream ${last.provider} rejected the request: ${last.message}`, extra);
      }
      const kinds = new Set([...lastByProvider.values()].map((e) => e.kind));
      if (kinds.size === 1 && (kinds.has("context_length") || kinds.has("content_filter"))) {
        const what = kinds.has("context_length") ? "prompt too long" : "rejected by content policy";
        return new PoolError("invalid_argument", `${what} for every eligible provider: ${detail}`, extra);
      }
      if (kinds.size === 1 && kinds.has("rate_limited")) {
        const waits = [...lastByProvider.values()].map((e) => e.retryAfterMs ?? 0).filter((w) => w > 0);
        const retryAfterMs = waits.length > 0 ? Math.min(...waits) : undefined;
        return new PoolError(
          "resource_exhausted",
          `every provider is rate-limited${retryAfterMs ? `; retry in ${Math.ceil(retryAfterMs)} ms` : ""}: ${detail}`,
          { ...extra, retryAfterMs },
        );
      }
      return new PoolError(
        "unavailable",
        `all ${lastByProvider.size} provider(s) tried for model ${JSON.stringify(r.model)} failed after ${r.attempts} attempt(s): ${detail}`,
        extra,
      );
    }
    if (plan.blocked.size > 0) {
      const blocks = [...plan.blocked.values()];
      const detail = [...plan.blocked].map(([name, b]) => `${name}: ${b.reason}`).join("; ");
      if (blocks.every((b) => b.kind === "exhausted")) {
        const waits = blocks.map((b) => b.retryAfterMs ?? 0).filter((w) => w > 0);
        return new PoolError("resource_exhausted", `every provider of model ${JSON.stringify(r.model)} is at a limit: ${detail}`, {
          ...extra,
          retryAfterMs: waits.length > 0 ? Math.min(...waits) : undefined,
        });
      }
      return new PoolError("unavailable", `no provider of model ${JSON.stringify(r.model)} can serve now: ${detail}`, extra);
    }
    const fitting = plan.routes.filter((rt) => this.fits(plan, rt));
    if (fitting.length === 0) {
      const why: string[] = [];
      if (plan.needsVision) why.push(plan.needsImageUrl ? "images, some by URL" : "images");
      if (plan.needsTools) why.push("tools");
      if (plan.pick.promptTokens > 0) why.push(`~${plan.pick.promptTokens} prompt tokens`);
      return new PoolError(
        "invalid_argument",
        `no provider of model ${JSON.stringify(r.model)} can take this request (${why.join(", ")}) with the routing given`,
        extra,
      );
    }
    if (fitting.every((rt) => rt.endpoint.healthy && rt.endpoint.saturated)) {
      return new PoolError("resource_exhausted", `every provider of model ${JSON.stringify(r.model)} is at max_concurrency`, {
        ...extra,
        retryAfterMs: 1000,
      });
    }
    const detail = fitting
      .map((rt) => `${rt.endpoint.name}: ${rt.endpoint.disabledReason || rt.endpoint.lastError || "out of rotation"}`)
      .join("; ");
    return new PoolError("unavailable", `no healthy provider for model ${JSON.stringify(r.model)}: ${detail}`, extra);
  }

  private abortedError(plan: Plan, signal: AbortSignal): PoolError {
    const r = plan.record;
    const reason = signal.reason as { code?: number; name?: string } | undefined;
    // connect aborts the handler signal with ConnectError(DeadlineExceeded = 4) on deadline.
    const deadline = reason?.code === 4 || reason?.name === "TimeoutError";
    const tried = r.providersTried.length ? ` (tried ${r.providersTried.join(", ")})` : "";
    return deadline
      ? new PoolError("deadline_exceeded", `deadline exceeded after ${r.attempts} attempt(s)${tried}`, {
          attempts: r.attempts,
          providers: r.providersTried,
        })
      : new PoolError("canceled", `request canceled by the client after ${r.attempts} attempt(s)`);
  }

  /** Before another attempt: give up, or wait out backoff when retrying a tried provider. */
  private async beforeRetry(plan: Plan, ctx: CallContext, next: Route): Promise<CallRole> {
    const attempt = plan.pick.attempt;
    if (attempt === 1) return "first";
    const role: CallRole = plan.tried.has(next.endpoint) ? "retry" : "fallback";
    if (role === "retry") {
      const { initial, max } = this.config.pool.retry_backoff_ms;
      const last = plan.errors[plan.errors.length - 1];
      const wait = Math.max(backoffMs(attempt - 1, initial, max, this.random), last?.retryAfterMs ?? 0);
      await delay(Math.min(wait, max), ctx.signal, this.clock);
    }
    return role;
  }

  private startAttempt(plan: Plan, route: Route, role: CallRole): void {
    const r = plan.record;
    const e = route.endpoint;
    r.attempts++;
    r.upstreamCalls++;
    r.provider = e.name;
    if (!r.providersTried.includes(e.name)) r.providersTried.push(e.name);
    if (role === "retry") r.retries++;
    else if (role === "fallback") r.fallbacks++;
    plan.tried.add(e);
    this.totals.upstreamCalls++;
    if (role === "retry") this.totals.retries++;
    else if (role === "fallback") this.totals.fallbacks++;
    e.onCallStarted(role);
    for (const o of this.observers) o.attemptStarted?.(r, e, role);
  }

  private endAttempt(plan: Plan, e: Endpoint, outcome: Parameters<Endpoint["onCallEnded"]>[0]): void {
    e.onCallEnded(outcome);
    for (const o of this.observers) o.attemptEnded?.(plan.record, e, outcome);
  }

  private begin(plan: Plan, req: ChatRequest): void {
    for (const g of this.requestGates) {
      const rejected = g.admit(req, plan.record);
      if (rejected) {
        // Observers still see the request (one log line, one metric), though it never ran.
        const r = plan.record;
        r.error = rejected;
        r.latencyMs = this.clock.now() - r.startedAt;
        this.totals.requests++;
        this.totals.failures++;
        for (const o of this.observers) o.requestEnded?.(r);
        throw rejected;
      }
    }
    this.totals.requests++;
    this.totals.inFlight++;
    for (const o of this.observers) o.requestStarted?.(plan.record);
  }

  private finish(plan: Plan, error?: PoolError): void {
    const r = plan.record;
    r.latencyMs = this.clock.now() - r.startedAt;
    this.totals.inFlight--;
    if (error) {
      r.error = error;
      this.totals.failures++;
    } else {
      this.totals.successes++;
      this.latency.record(this.clock.now(), r.latencyMs);
    }
    for (const o of this.observers) o.requestEnded?.(r);
  }

  private toProviderError(e: Endpoint, err: unknown): ProviderError {
    if (err instanceof ProviderError) return err;
    return new ProviderError({ provider: e.name, kind: "server", message: redact(String((err as Error)?.message ?? err)) });
  }

  private settleUsage(plan: Plan, usage: TokenUsage | undefined, text: string): TokenUsage & { estimated: boolean } {
    if (usage) return { ...usage, estimated: false };
    return {
      promptTokens: plan.pick.promptTokens,
      completionTokens: estimateTokens(text),
      cachedTokens: 0,
      estimated: true,
    };
  }

  /** Whether the failed attempt may be followed by another. */
  private mayContinue(plan: Plan, err: ProviderError): boolean {
    if (err.scope === "request") return false;
    if (this.config.pool.fallback === "none" && err.scope !== "transient") return false;
    return plan.pick.attempt <= this.config.pool.max_retries;
  }

  // ---------------------------------------------------------------------------------------
  // Issue 4: pricing composite answers, and the extra legs of racing and hedging (a leg beyond
  // the first is an extra upstream call of the same attempt), for src/balancer/race.ts.

  /**
   * Prices for a call: a composite's answer is priced as its serving member's (unless the
   * composite has its own `pricing`).
   */
  private priceOf(e: Endpoint, upstreamModel: string, servedBy: ServedBy | undefined) {
    const member = servedBy && !e.config.pricing ? this.gen.byName.get(servedBy.provider) : undefined;
    return member ? this.pricer.pricing(member, servedBy!.model) : this.pricer.pricing(e, upstreamModel);
  }

  private raceHost(plan: Plan, ctx: CallContext): RaceHost<Route, AttemptSignal> {
    return {
      clock: this.clock,
      view: (r) => r.endpoint,
      startLeg: () => {
        const route = this.choose(plan);
        if (!route || plan.tried.has(route.endpoint)) return undefined;
        this.startAttempt(plan, route, "first");
        plan.record.attempts--; // the same attempt: counted in upstream_calls, not in attempts
        const e = route.endpoint;
        return { candidate: route, attempt: attemptSignal(ctx.signal, e.config.timeout_ms, e.name, this.clock), started: this.clock.now() };
      },
      endLeg: (leg, outcome) => {
        leg.attempt.done();
        const canceled = outcome.canceled || ctx.signal.aborted;
        this.endAttempt(plan, leg.candidate.endpoint, { ...outcome, canceled });
        if (!canceled && outcome.error) plan.errors.push(outcome.error);
      },
    };
  }

  // ---------------------------------------------------------------------------------------
  // Unary

  async chat(req: ChatRequest, ctx: CallContext): Promise<ChatOutput> {
    const plan = this.plan(req, ctx, "chat");
    this.begin(plan, req);
    try {
      const out = await this.runChat(plan, req, ctx);
      this.finish(plan);
      return out;
    } catch (err) {
      const pe = err instanceof PoolError ? err : new PoolError("internal", redact(String(err)));
      this.finish(plan, pe);
      throw pe;
    }
  }

  private async runChat(plan: Plan, req: ChatRequest, ctx: CallContext): Promise<ChatOutput> {
    const r = plan.record;
    for (;;) {
      if (ctx.signal.aborted) throw this.abortedError(plan, ctx.signal);
      let route = this.choose(plan);
      if (!route) throw this.exhausted(plan);
      let e = route.endpoint;
      let role: CallRole;
      try {
        role = await this.beforeRetry(plan, ctx, route);
      } catch {
        throw this.abortedError(plan, ctx.signal);
      }
      this.startAttempt(plan, route, role);
      let started = this.clock.now();
      let att = attemptSignal(ctx.signal, e.config.timeout_ms, e.name, this.clock);
      try {
        let result: ChatResult;
        if (plan.strategy.race && plan.pick.attempt === 1) {
          // Racing and hedging (issue 4): the legs run in src/balancer/race.ts; the winner goes on below.
          const won = await raceChat(plan.strategy.race, this.raceHost(plan, ctx), { candidate: route, attempt: att, started }, plan.pick, (rt, signal) =>
            rt.endpoint.provider.chat({ request: req, model: rt.upstreamModel, signal, requestId: ctx.requestId }),
          );
          ({ candidate: route, attempt: att, started } = won.leg);
          e = route.endpoint;
          r.provider = e.name;
          result = won.result;
        } else {
          result = await e.provider.chat({
            request: req,
            model: route.upstreamModel,
            signal: att.signal,
            requestId: ctx.requestId,
          });
        }
        const latencyMs = this.clock.now() - started;
        const usage = this.settleUsage(plan, result.usage, result.content);
        const costUsd = costOf(this.priceOf(e, route.upstreamModel, result.servedBy), usage);
        this.endAttempt(plan, e, { ok: true, latencyMs, usage, costUsd });
        r.usage = usage;
        r.costUsd = costUsd;
        r.finishReason = result.finishReason;
        return {
          requestId: ctx.requestId,
          provider: e.name,
          result,
          usage,
          attempts: r.attempts,
          upstreamCalls: r.upstreamCalls,
          latencyMs: this.clock.now() - r.startedAt,
          costUsd,
          providersTried: r.providersTried,
        };
      } catch (err) {
        const pe = this.toProviderError(e, err);
        const canceled = ctx.signal.aborted;
        this.endAttempt(plan, e, { ok: false, latencyMs: this.clock.now() - started, error: pe, canceled });
        if (canceled) throw this.abortedError(plan, ctx.signal);
        plan.errors.push(pe);
        if (!this.mayContinue(plan, pe)) throw this.exhausted(plan);
        plan.pick.attempt++;
      } finally {
        att.done();
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Streaming

  async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<StreamChunkOut> {
    const plan = this.plan(req, ctx, "stream");
    this.begin(plan, req);
    let failed: PoolError | undefined;
    try {
      yield* this.runStream(plan, req, ctx);
    } catch (err) {
      failed = err instanceof PoolError ? err : new PoolError("internal", redact(String(err)));
      throw failed;
    } finally {
      // A consumer that stops early (client gone) ends here without an error: count it canceled.
      if (!failed && !plan.record.finishReason) failed = new PoolError("canceled", "stream abandoned by the client");
      this.finish(plan, failed);
    }
  }

  private async *runStream(plan: Plan, req: ChatRequest, ctx: CallContext): AsyncGenerator<StreamChunkOut> {
    const r = plan.record;
    for (;;) {
      if (ctx.signal.aborted) throw this.abortedError(plan, ctx.signal);
      let route = this.choose(plan);
      if (!route) throw this.exhausted(plan);
      let e = route.endpoint;
      let role: CallRole;
      try {
        role = await this.beforeRetry(plan, ctx, route);
      } catch {
        throw this.abortedError(plan, ctx.signal);
      }
      this.startAttempt(plan, route, role);
      let started = this.clock.now();
      let att = attemptSignal(ctx.signal, e.config.timeout_ms, e.name, this.clock);
      const racing = plan.strategy.race && plan.pick.attempt === 1 ? plan.strategy.race : undefined;
      let upstream: AsyncIterator<StreamEvent> | undefined = racing
        ? undefined
        : e.provider.stream({
            request: req,
            model: route.upstreamModel,
            signal: att.signal,
            requestId: ctx.requestId,
          })[Symbol.asyncIterator]();
      let delivered = false;
      let ended = false;
      let text = "";
      let id = "";
      let model = "";
      let finishReason: FinishReason | undefined;
      let rawFinishReason = "";
      let usage: TokenUsage | undefined;
      let ttftMs: number | undefined;
      let servedBy: ServedBy | undefined;
      try {
        if (!upstream) {
          // Racing and hedging (issue 4): the legs run in src/balancer/race.ts; the first to
          // produce a token wins and its stream goes on below.
          const won = await raceStream(racing!, this.raceHost(plan, ctx), { candidate: route, attempt: att, started }, plan.pick, (rt, signal) =>
            rt.endpoint.provider.stream({ request: req, model: rt.upstreamModel, signal, requestId: ctx.requestId }),
          );
          ({ candidate: route, attempt: att, started } = won.leg);
          e = route.endpoint;
          r.provider = e.name;
          upstream = won.result;
        }
        for (;;) {
          const next = await upstream.next();
          if (next.done) break;
          const ev: StreamEvent = next.value;
          if (ev.id) id = ev.id;
          if (ev.model) model = ev.model;
          if (ev.usage) usage = ev.usage;
          if (ev.servedBy) servedBy = ev.servedBy;
          if (ev.finishReason) {
            finishReason = ev.finishReason;
            rawFinishReason = ev.rawFinishReason ?? ev.finishReason;
          }
          const hasContent = !!ev.delta || (ev.toolCalls !== undefined && ev.toolCalls.length > 0);
          if (!hasContent) continue;
          if (ev.delta) text += ev.delta;
          if (!delivered) {
            delivered = true;
            ttftMs = this.clock.now() - started;
            att.clearTimeout();
            yield {
              delta: ev.delta ?? "",
              toolCalls: ev.toolCalls,
              id: id || ctx.requestId,
              model: model || route.upstreamModel,
              provider: e.name,
              requestId: ctx.requestId,
            };
          } else {
            yield ev.toolCalls ? { delta: ev.delta ?? "", toolCalls: ev.toolCalls } : { delta: ev.delta };
          }
        }
        ended = true;
        const latencyMs = this.clock.now() - started;
        const settled = this.settleUsage(plan, usage, text);
        const costUsd = costOf(this.priceOf(e, route.upstreamModel, servedBy), settled);
        this.endAttempt(plan, e, { ok: true, latencyMs, ttftMs: ttftMs ?? latencyMs, usage: settled, costUsd });
        r.usage = settled;
        r.costUsd = costUsd;
        r.ttftMs = (ttftMs ?? latencyMs) + (started - r.startedAt);
        r.finishReason = finishReason ?? "stop";
        const last: StreamChunkOut = {
          finishReason: r.finishReason,
          rawFinishReason: rawFinishReason || r.finishReason,
          usage: {
            promptTokens: settled.promptTokens,
            completionTokens: settled.completionTokens,
            totalTokens: settled.promptTokens + settled.completionTokens,
            cachedTokens: settled.cachedTokens,
            estimated: settled.estimated,
          },
          provider: e.name,
          attempts: r.attempts,
          upstreamCalls: r.upstreamCalls,
          costUsd,
          ttftMs: r.ttftMs,
          latencyMs: this.clock.now() - r.startedAt,
        };
        if (!delivered) {
          last.id = id || ctx.requestId;
          last.model = model || route.upstreamModel;
          last.requestId = ctx.requestId;
        }
        yield last;
        return;
      } catch (err) {
        const pe = this.toProviderError(e, err);
        const canceled = ctx.signal.aborted;
        this.endAttempt(plan, e, { ok: false, latencyMs: this.clock.now() - started, error: pe, canceled });
        if (canceled) throw this.abortedError(plan, ctx.signal);
        plan.errors.push(pe);
        if (delivered) {
          throw new PoolError(
            "unavailable",
            `stream from ${e.name} failed after ${text.length} characters were delivered: ${pe.describe()}`,
            { attempts: r.attempts, providers: r.providersTried },
          );
        }
        if (!this.mayContinue(plan, pe)) throw this.exhausted(plan);
        plan.pick.attempt++;
      } finally {
        att.done();
        if (!ended) {
          // Caller went away or the attempt failed: release the upstream at once.
          void upstream?.return?.(undefined)?.catch?.(() => undefined);
        }
      }
    }
  }
}
