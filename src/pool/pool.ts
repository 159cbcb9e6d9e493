/**
 * The pool: the request lifecycle. For each request it resolves the model to candidate
 * endpoints, lets the strategy pick one (among healthy endpoints the gates admit), calls it,
 * and on a retryable failure moves on (fallback) or tries again (retry), as the fallback
 * policy says, until one answers, the attempts or the retry budget run out, or the caller's
 * deadline passes. When every provider is only at a limit, the request waits in the bounded
 * queue. Every outcome is recorded on the endpoint and told to the observers.
 *
 * Around it: plan.ts (what a request may use), attempts.ts (starting, ending and retrying
 * upstream calls, waiting in the queue), retry-policy.ts (where the next attempt goes),
 * failure.ts (the final error), unary.ts (the Chat attempt loop), stream-resume.ts (streams,
 * stalls, mid-stream failover), embed.ts (embeddings),
 * resilience.ts (breakers, limits, ejection, health checks, queue, retry budget).
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { EndpointView } from "../balancer/strategy.js";
import type { LoadedConfig } from "../config/load.js";
import { createConfigPricer, type Pricer } from "../cost/pricing.js";
import { systemClock, type Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { Attempts } from "./attempts.js";
import { discoverModels, type ProviderFactory } from "./build.js";
import { createGeneration, resolveKind, strategyFor, type Generation } from "./generation.js";
import { checkInputLimits, inputTokens, planRequest, runEmbed, type EmbedInput, type EmbedOutput } from "./embed.js";
import type { Endpoint } from "./endpoint.js";
import { PoolError } from "../core/errors.js";
import type { PoolObserver } from "./observer.js";
import type { EndpointGate, GateBlock, RequestGate, Reserver } from "../core/gate.js";
import type { SharedMode } from "../limits/limiter.js";
import { checkRouting, createPlan, fits, triedOn, upstreamOf, type Plan } from "./plan.js";
import { Resilience } from "./resilience.js";
import { createMemberCalls } from "./member-calls.js";
import type { MemberCalls } from "../core/member-calls.js";
import { selectNext } from "./retry-policy.js";
import { ModelRouter, type Route } from "./router.js";
import { runStream } from "./stream-resume.js";
import { runChat } from "./unary.js";
import type { CallContext, ChatOutput, PoolTotals, StreamChunkOut } from "./types.js";
import { SlidingWindow } from "../metrics/window.js";

export type { Plan } from "./plan.js";
export type { CallContext, ChatOutput, StreamChunkOut } from "./types.js";
export type { EmbedInput, EmbedOutput } from "./embed.js";

export interface PoolOptions {
  clock?: Clock;
  random?: () => number;
  observers?: PoolObserver[];
  /** Per-endpoint admission (budgets); see src/core/gate.ts. Breakers and limits are built in. */
  gates?: EndpointGate<Endpoint>[];
  /** Per-request admission (tenant budgets). */
  requestGates?: RequestGate[];
  /** Prices per endpoint and upstream model (default: each provider's `pricing`). */
  pricer?: Pricer;
  /** Health, breaker, ejection and warmup events (default: none). */
  logger?: Logger;
  /** Shared state (src/state): reserves each call cluster-wide after choosing (default: none). */
  reserver?: Reserver<Endpoint>;
  /**
   * With shared state: whether the shared counters answer now (while they do, each limiter
   * leaves rpm/rpd/tpm/max_concurrency to them), and the replicas the local fallback divides
   * each limit by.
   */
  shared?: SharedMode;
  /**
   * Builds a provider's adapter instead of the provider registry when it returns one
   * (default: the registry for every provider). In-memory fakes for tests of the pool.
   */
  createProvider?: ProviderFactory;
}

/** The tried routes of a choice that has none, shared: selectNext takes its lists read-only. */
const NO_ROUTES: readonly Route[] = [];

export class Pool {
  private gen: Generation;
  readonly clock: Clock;
  readonly random: () => number;
  private readonly observers: PoolObserver[];
  private readonly gates: EndpointGate<Endpoint>[];
  private readonly requestGates: RequestGate[];
  readonly pricer: Pricer;
  readonly startedAt: number;
  /** Breakers, limits, ejection, health checks, warmup, queue and retry budget. */
  readonly resilience: Resilience;
  /** Starting, ending and retrying upstream calls (attempts.ts). */
  readonly attempts: Attempts;
  /** How composites call their members: through the attempts, gated (member-calls.ts). */
  private readonly memberCalls: MemberCalls<Endpoint>;
  private readonly createProvider?: ProviderFactory;

  /** Pool-wide counters. */
  readonly totals: PoolTotals = {
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
    this.requestGates = opts.requestGates ?? [];
    this.pricer = opts.pricer ?? createConfigPricer();
    this.createProvider = opts.createProvider;
    this.startedAt = this.clock.now();
    this.resilience = new Resilience({
      config: () => this.config,
      endpoints: () => this.gen.endpoints,
      clock: this.clock,
      random: this.random,
      logger: opts.logger,
      shared: opts.shared,
    });
    this.gates = [...this.resilience.gates, ...(opts.gates ?? [])];
    this.attempts = new Attempts({
      clock: this.clock,
      random: this.random,
      settings: () => this.config.pool,
      observers: this.observers,
      totals: this.totals,
      resilience: this.resilience,
      pricer: this.pricer,
      choose: (plan) => this.choose(plan),
      endpoint: (name) => this.gen.byName.get(name),
      reserver: opts.reserver,
    });
    this.memberCalls = createMemberCalls({ attempts: this.attempts, gates: () => this.gates, now: () => this.clock.now() });
    this.gen = this.generation(loaded);
  }

  private generation(loaded: LoadedConfig, reuse?: Generation): Generation {
    const g = createGeneration(loaded, this.clock, reuse, this.memberCalls, this.createProvider);
    for (const e of g.endpoints) this.resilience.attach(e);
    return g;
  }

  get config() {
    return this.gen.loaded.config;
  }
  /** Requests waiting for a provider (the queue, src/limits). */
  get queueDepth(): number {
    return this.resilience.admission.depth;
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
  get embeddingRouter(): ModelRouter {
    return this.gen.embeddingRouter;
  }
  endpoint(name: string): Endpoint | undefined {
    return this.gen.byName.get(name);
  }

  addObserver(o: PoolObserver): void {
    this.observers.push(o);
  }

  addRequestGate(g: RequestGate): void {
    this.requestGates.push(g);
  }

  /** Start-up work: model discovery, warmup, then health checks. */
  async start(signal: AbortSignal = AbortSignal.timeout(10_000)): Promise<void> {
    if (await discoverModels(this.gen.endpoints, signal)) {
      this.gen = { ...this.gen, router: new ModelRouter(this.gen.endpoints, this.config.pool.default_model) };
    }
    await this.resilience.start(this.gen.endpoints);
  }

  /** Swap in a new config; endpoints whose config is unchanged keep their state. */
  reload(loaded: LoadedConfig): { added: string[]; removed: string[]; changed: string[]; kept: string[] } {
    const old = this.gen;
    const next = this.generation(loaded, old);
    const kept = next.endpoints.filter((e) => old.byName.get(e.name) === e).map((e) => e.name);
    const removed = old.endpoints.filter((e) => next.byName.get(e.name) !== e);
    const added = next.endpoints.filter((e) => old.byName.get(e.name) !== e);
    this.gen = next;
    for (const e of removed) {
      this.resilience.retire(e);
      void this.closeWhenIdle(e);
    }
    void this.prepare(added);
    this.resilience.admission.wakeAll();
    // A provider whose entry changed is rebuilt (a new endpoint), but is reported as "changed".
    const changed = added.filter((e) => old.byName.has(e.name)).map((e) => e.name);
    return {
      added: added.filter((e) => !old.byName.has(e.name)).map((e) => e.name),
      removed: removed.filter((e) => !next.byName.has(e.name)).map((e) => e.name),
      changed,
      kept,
    };
  }

  /** Providers a reload added: discover their models, open their connections. */
  private async prepare(added: Endpoint[]): Promise<void> {
    const gen = this.gen;
    if (await discoverModels(added, AbortSignal.timeout(10_000))) {
      if (this.gen === gen) this.gen = { ...gen, router: new ModelRouter(gen.endpoints, gen.loaded.config.pool.default_model) };
    }
    await this.resilience.warm(added).catch(() => undefined);
  }

  private async closeWhenIdle(e: Endpoint): Promise<void> {
    while (e.inFlight > 0) await new Promise((r) => setTimeout(r, 100).unref());
    this.resilience.dispose(e);
    await e.provider.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.resilience.close();
    await Promise.all(this.gen.endpoints.map((e) => e.provider.close().catch(() => undefined)));
  }

  // ---------------------------------------------------------------------------------------
  // Planning and choosing

  private plan(req: ChatRequest, ctx: CallContext, kind: "chat" | "stream" | "embed", promptTokens?: number): Plan {
    const routing = req.routing;
    const { preferred, excluded } = checkRouting(req, ctx.preferredProvider, this.gen.byName);
    const strategy = strategyFor(this.gen, routing?.strategy);
    const resolved = resolveKind(this.gen, req.model, kind === "embed" ? "embedding" : "chat");
    const now = this.clock.now();
    return createPlan({
      request: req,
      kind,
      promptTokens,
      requestId: ctx.requestId,
      traceparent: ctx.traceparent,
      tracestate: ctx.tracestate,
      resolved,
      strategy,
      preferred,
      excluded,
      now,
      deadline: ctx.timeoutMs === undefined ? undefined : now + ctx.timeoutMs,
      random: this.random,
      pricing: (v) => this.pricer.pricing(v as Endpoint, upstreamOf(resolved.routes, v)),
    });
  }

  /**
   * Choose the endpoint for the next attempt among healthy endpoints that fit the request and
   * that every gate admits, as the fallback policy and the strategy say. Undefined when none
   * can take it now (`plan.record.blocked` then says why the gated ones cannot).
   */
  choose(plan: Plan): Route | undefined {
    const now = this.clock.now();
    const settings = this.config.pool;
    plan.pick.now = now;
    plan.record.blocked.clear();
    const pin = settings.fallback === "none" ? plan.record.attemptEndpoints[0] : undefined;
    const fresh: Route[] = [];
    // The strategy sees endpoints; built beside `fresh`, the usual choice, rather than after.
    const freshViews: EndpointView[] = [];
    let again: Route[] | undefined; // routes already tried: rare, so made only when needed
    const routes = plan.routes;
    const gates = this.gates;
    // Every route is asked, so this loop is what a request costs per provider: index loops,
    // one clock read, no closures.
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      const e = r.endpoint;
      if ((pin && e !== pin) || !e.healthyAt(now) || !fits(plan, r)) continue;
      plan.gate.upstreamModel = r.upstreamModel;
      let block: GateBlock | undefined;
      for (let g = 0; g < gates.length; g++) if ((block = gates[g]!.check(e, plan.gate, now))) break;
      if (block) {
        plan.record.blocked.set(e.name, block);
        continue;
      }
      if (triedOn(plan, e)) (again ??= []).push(r);
      else {
        fresh.push(r);
        freshViews.push(e);
      }
    }
    const sel = selectNext(plan, fresh, again ?? NO_ROUTES, settings);
    if (!sel) return undefined;
    if ("route" in sel) return sel.route;
    const among = sel.among;
    const views = among === fresh ? freshViews : among.map((r) => r.endpoint as EndpointView);
    const picked = plan.strategy.pick(views, plan.pick);
    if (!picked) return undefined;
    for (const o of this.observers) o.picked?.(plan.record, views, picked, plan.strategy, plan.pick);
    return among[views.indexOf(picked)];
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
    this.resilience.budget.onRequest(plan.record.startedAt);
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

  // ---------------------------------------------------------------------------------------
  // Unary (the attempt loop, with racing and hedging, is in unary.ts)

  async chat(req: ChatRequest, ctx: CallContext): Promise<ChatOutput> {
    const plan = this.plan(req, ctx, "chat");
    this.begin(plan, req);
    try {
      const out = await runChat(this.attempts, plan, req, ctx, this.clock);
      this.finish(plan);
      return out;
    } catch (err) {
      throw this.failed(plan, err);
    }
  }

  /** Ends a unary request's record once its attempt loop settles. */
  private async settled<T>(plan: Plan, run: Promise<T>): Promise<T> {
    try {
      const out = await run;
      this.finish(plan);
      return out;
    } catch (err) {
      throw this.failed(plan, err);
    }
  }

  /** Ends a failed request's record; the error to throw. */
  private failed(plan: Plan, err: unknown): PoolError {
    const pe = PoolError.from(err);
    this.finish(plan, pe);
    return pe;
  }

  // ---------------------------------------------------------------------------------------
  // Embeddings and streams (their attempt loops: embed.ts, stream-resume.ts)

  /** Embeddings through the same lifecycle (src/pool/embed.ts). */
  async embed(req: EmbedInput, ctx: CallContext): Promise<EmbedOutput> {
    const e = this.config.pool.embeddings;
    checkInputLimits(req.inputs, e.max_inputs, e.max_input_tokens);
    const chatLike = planRequest(req);
    // Limits and prices see the inputs' tokens alone, not a chat prompt's per-message overhead.
    const plan = this.plan(chatLike, ctx, "embed", inputTokens(req.inputs));
    this.begin(plan, chatLike);
    return this.settled(plan, runEmbed(this.attempts, plan, req, ctx, () => this.clock.now()));
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<StreamChunkOut> {
    const plan = this.plan(req, ctx, "stream");
    this.begin(plan, req);
    let failed: PoolError | undefined;
    try {
      yield* runStream(this.attempts, plan, req, ctx);
    } catch (err) {
      failed = PoolError.from(err);
      throw failed;
    } finally {
      // A consumer that stops early (client gone) ends here without an error: count it canceled.
      if (!failed && !plan.record.finishReason) failed = new PoolError("canceled", "stream abandoned by the client");
      this.finish(plan, failed);
    }
  }
}
