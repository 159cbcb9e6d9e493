/**
 * A request's plan, in two parts. Its facts (RequestFacts): what it may be routed to (routes,
 * routing overrides, capabilities it needs, deadline), fixed when the plan is built. Its
 * record (AttemptRecord): what has happened so far (attempts, providers tried, their errors,
 * why others were passed over), the one mutable object the attempt loop, the fallback policy
 * and the final error write and read.
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { EndpointView, PickContext, Strategy } from "../balancer/strategy.js";
import type { Waiter } from "../limits/admission.js";
import type { ProviderError } from "../core/errors.js";
import type { Endpoint } from "./endpoint.js";
import { invalidArgument } from "../core/errors.js";
import type { GateBlock, GateRequest } from "../core/gate.js";
import type { RequestPickFacts } from "../core/member-calls.js";
import type { RequestRecord } from "../core/outcome.js";
import type { ModelRoutes, Route } from "./router.js";
import { estimatePromptTokens } from "./tokens.js";

/**
 * The request's pick context, built once per request: strategies read it on every choice
 * (`now` and `attempt` are set before each), composites take its facts for their member picks.
 */
export type RequestPick = PickContext & RequestPickFacts & { attempt: number; now: number };

/** What a request may use: fixed when its plan is built. */
export interface RequestFacts {
  readonly routes: readonly Route[];
  readonly strategy: Strategy;
  readonly pick: RequestPick;
  /** What gates are told about the request (upstreamModel set per route while checking). */
  readonly gate: GateRequest & { upstreamModel: string };
  readonly preferred?: string;
  readonly only: boolean;
  readonly excluded: ReadonlySet<string>;
  readonly needsVision: boolean;
  readonly needsTools: boolean;
  /** Some image is an http(s) URL: providers that take only bytes cannot serve it. */
  readonly needsImageUrl: boolean;
  /** `metadata.priority`: queue order, higher first. */
  readonly priority: number;
  /** Monotonic ms by which the caller wants an answer (its gRPC deadline), if any. */
  readonly deadline?: number;
}

/**
 * What happened to the request: the observers' RequestRecord (counts, `providersTried`) and
 * what the pool's retry logic needs beside it. "Tried" is `providersTried` only: every
 * endpoint called (attempts and race legs), by name, in order, once each.
 */
export interface AttemptRecord extends RequestRecord {
  /** The endpoint of each attempt, in order (a repeat is a retry); race legs are not attempts. */
  readonly attemptEndpoints: Endpoint[];
  readonly errors: ProviderError[];
  /** Why endpoints were passed over by a gate in the last choice, by endpoint name. */
  readonly blocked: Map<string, GateBlock>;
  /** Endpoints that failed with an error retrying them cannot fix (auth, context length). */
  readonly spent: Endpoint[];
  /** Set while (or once) the request waited for a provider. */
  waiter?: Waiter;
  /** The retry budget refused a further attempt. */
  budgetSpent: boolean;
}

export interface Plan extends RequestFacts {
  readonly record: AttemptRecord;
}

/** Whether the request already called `e` (an attempt or a race leg). */
export function triedOn(plan: Plan, e: EndpointView): boolean {
  return plan.record.providersTried.includes(e.name);
}

export interface PlanInput {
  request: ChatRequest;
  kind: "chat" | "stream" | "embed";
  /** Prompt tokens when known better than the chat estimate (an Embed request's inputs). */
  promptTokens?: number;
  requestId: string;
  traceparent?: string;
  tracestate?: string;
  resolved: ModelRoutes;
  strategy: Strategy;
  preferred?: string;
  excluded: ReadonlySet<string>;
  now: number;
  deadline?: number;
  random: () => number;
  pricing: PickContext["pricing"];
}

/** Routing overrides checked against the configured providers. */
export function checkRouting(
  req: ChatRequest,
  headerProvider: string | undefined,
  byName: ReadonlyMap<string, Endpoint>,
): { preferred?: string; excluded: ReadonlySet<string> } {
  const routing = req.routing;
  const preferred = routing?.provider || headerProvider || undefined;
  if (preferred && !byName.has(preferred)) {
    throw invalidArgument(routing?.provider ? "routing.provider" : "x-llmpool-provider", `no provider named ${JSON.stringify(preferred)}`);
  }
  if (routing?.onlyProvider && !preferred) throw invalidArgument("routing.only_provider", "needs routing.provider");
  const names = routing?.excludeProviders;
  if (!names || names.length === 0) return { preferred, excluded: NONE_EXCLUDED };
  const excluded = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (!byName.has(name)) throw invalidArgument(`routing.exclude_providers[${i}]`, `no provider named ${JSON.stringify(name)}`);
    excluded.add(name);
  }
  return { preferred, excluded };
}

/** Shared by every request that excludes no provider (nearly all): no Set per call. */
const NONE_EXCLUDED: ReadonlySet<string> = new Set();

/** `metadata.priority`: an integer, higher first; 0 when absent. */
export function requestPriority(req: ChatRequest): number {
  const raw = req.metadata.priority;
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw invalidArgument("metadata.priority", `must be an integer (got ${JSON.stringify(raw)})`);
  return n;
}

export function createPlan(p: PlanInput): Plan {
  const req = p.request;
  const routing = req.routing;
  const { model, routes } = p.resolved;
  let needsVision = false;
  let needsImageUrl = false;
  for (const m of req.messages) {
    for (const part of m.parts) {
      if (part.part.case !== "image") continue;
      needsVision = true;
      const src = part.part.value.source;
      if (src.case === "url" && !src.value.startsWith("data:")) needsImageUrl = true;
    }
  }
  const record: AttemptRecord = {
    requestId: p.requestId,
    kind: p.kind,
    model,
    tenant: req.metadata.tenant ?? "",
    startedAt: p.now,
    traceparent: p.traceparent,
    tracestate: p.tracestate,
    provider: "",
    attempts: 0,
    upstreamCalls: 0,
    providersTried: [],
    retries: 0,
    fallbacks: 0,
    costUsd: 0,
    latencyMs: 0,
    attemptEndpoints: [],
    errors: [],
    blocked: new Map(),
    spent: [],
    budgetSpent: false,
  };
  const promptTokens = p.promptTokens ?? estimatePromptTokens(req);
  const maxTokens = req.maxTokens ?? 256;
  const stream = p.kind === "stream";
  return {
    record,
    routes,
    strategy: p.strategy,
    pick: {
      request: req,
      stream,
      promptTokens,
      maxTokens,
      affinityKey: routing?.affinityKey || req.metadata.affinity_key || undefined,
      attempt: 1,
      now: 0,
      random: p.random,
      pricing: p.pricing,
    },
    gate: { request: req, record, stream, promptTokens, maxTokens, upstreamModel: "" },
    preferred: p.preferred,
    only: routing?.onlyProvider ?? false,
    excluded: p.excluded,
    needsVision,
    needsTools: req.tools.length > 0,
    needsImageUrl,
    priority: requestPriority(req),
    deadline: p.deadline,
  };
}

/** Routes that could serve this request at all (ignoring health and load). */
export function fits(plan: Plan, r: Route): boolean {
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

/** The upstream model name a route uses, for pricing lookups by view. */
export function upstreamOf(routes: readonly Route[], v: EndpointView): string {
  for (const r of routes) if (r.endpoint === v) return r.upstreamModel;
  return "";
}
