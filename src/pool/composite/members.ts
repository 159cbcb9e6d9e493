/**
 * What composite providers share: the member endpoints they call (their state is what member
 * selection reads, and every member call is recorded on it), the model name each member is
 * sent, the composite's capabilities, and the pick context for a member choice.
 */
import type { ProviderConfig } from "../../config/schema.js";
import { estimatePromptTokens } from "../tokens.js";
import { upstreamModelFor } from "../router.js";
import { type Provider, type ProviderCapabilities, type ServedBy, type StreamEvent, type UpstreamCall } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";
import type { MemberCall, MemberCalls } from "../../core/member-calls.js";
import type { CallOutcome, CallRole } from "../../core/outcome.js";
import type { EndpointView, PickContext } from "../../balancer/strategy.js";

/** A member as a composite sees it: src/pool/endpoint.ts Endpoint satisfies this. */
export interface MemberEndpoint extends EndpointView {
  readonly provider: Provider;
  readonly config: { readonly timeout_ms: number };
  readonly models: ReadonlyMap<string, string>;
  readonly healthy: boolean;
  readonly saturated: boolean;
  onCallStarted(role: CallRole): void;
  /** Members record latency and errors only: the pool records the composite's tokens and cost. */
  onCallEnded(o: CallOutcome): void;
}

/** The name a member is sent for the composite's model: its own mapping, else the same name. */
export function memberModel(m: MemberEndpoint, model: string): string {
  return upstreamModelFor(m.models, model) ?? model;
}

/** A composite can take what every member can (config `capabilities` overrides). */
export function compositeCapabilities(cfg: ProviderConfig, members: readonly MemberEndpoint[]): ProviderCapabilities {
  let vision = true;
  let tools = true;
  let imageUrls = true;
  let contextWindow = 0;
  for (const m of members) {
    const c = m.provider.capabilities;
    vision &&= c.vision;
    tools &&= c.tools;
    imageUrls &&= c.imageUrls ?? c.vision;
    if (c.contextWindow > 0 && (contextWindow === 0 || c.contextWindow < contextWindow)) contextWindow = c.contextWindow;
  }
  return {
    vision: cfg.capabilities.vision ?? vision,
    tools: cfg.capabilities.tools ?? tools,
    imageUrls,
    contextWindow: cfg.capabilities.context_window ?? contextWindow,
  };
}

/**
 * A composite's health check: it is up while any member is in rotation. Members are probed
 * on their own, so this makes no upstream call (a chat probe through a composite would spend
 * a real request on a member).
 */
export async function probeMembers(name: string, members: readonly MemberEndpoint[]): Promise<void> {
  if (members.some((m) => m.healthy)) return;
  throw new ProviderError({ provider: name, kind: "server", message: `no member in rotation (${members.map((m) => m.name).join(", ")})` });
}

/**
 * Member calls outside a pool (a composite built on its own, as in unit tests): recorded on
 * the member only, no gates. The pool gives composites its own (src/pool/member-calls.ts).
 */
export const directMemberCalls: MemberCalls<MemberEndpoint> = {
  admits: () => true,
  start(m, _call, _model, role): MemberCall {
    m.onCallStarted(role);
    let ended = false;
    return {
      end(o) {
        if (ended) return;
        ended = true;
        m.onCallEnded(o);
      },
    };
  },
};

/**
 * Members that may take `call` now (in rotation, under their concurrency cap, admitted by
 * their gates), not yet tried.
 */
export function available(
  members: readonly MemberEndpoint[],
  tried: ReadonlySet<MemberEndpoint>,
  calls: MemberCalls<MemberEndpoint>,
  call: UpstreamCall,
  stream: boolean,
): MemberEndpoint[] {
  return members.filter((m) => m.healthy && !m.saturated && !tried.has(m) && calls.admits(m, call, memberModel(m, call.model), stream));
}

/**
 * The context strategies get for a member choice: built from the request's pick facts that
 * the pool worked out once (`calls.pickFacts`), or from the request itself outside a pool.
 */
export function memberPickContext(
  calls: MemberCalls<MemberEndpoint>,
  call: UpstreamCall,
  stream: boolean,
  now: number,
  random: () => number,
): PickContext & { attempt: number; now: number } {
  const facts = calls.pickFacts?.(call);
  const request = call.request;
  return {
    request,
    stream,
    promptTokens: facts ? facts.promptTokens : estimatePromptTokens(request),
    maxTokens: facts ? facts.maxTokens : (request.maxTokens ?? 256),
    affinityKey: facts ? facts.affinityKey : request.routing?.affinityKey || request.metadata.affinity_key || undefined,
    attempt: 1,
    now,
    random,
    pricing: (v) => v.pricing,
  };
}

/** Tag a member's answer with who served it (through an inner composite: its tag, one level up). */
export function servedBy(m: MemberEndpoint, model: string, existing?: ServedBy): ServedBy {
  return existing ? { provider: existing.provider, model: existing.model, path: [m.name, ...existing.path] } : { provider: m.name, model, path: [m.name] };
}

export function hasContent(ev: StreamEvent): boolean {
  return !!ev.delta || (ev.toolCalls !== undefined && ev.toolCalls.length > 0);
}

/** The composite's error after its members failed: the last member's kind, every member's reason. */
export function membersFailed(composite: string, errors: readonly ProviderError[]): ProviderError {
  const last = errors[errors.length - 1];
  if (!last) {
    return new ProviderError({ provider: composite, kind: "overloaded", message: "no member can take the call now" });
  }
  if (errors.length === 1 && last.scope === "request") return last;
  return new ProviderError({
    provider: composite,
    kind: last.kind,
    status: last.status,
    retryAfterMs: last.retryAfterMs,
    message: `${errors.length === 1 ? "member" : `all ${errors.length} members`} failed: ${errors.map((e) => `${e.provider}: ${e.describe()}`).join("; ")}`,
  });
}
