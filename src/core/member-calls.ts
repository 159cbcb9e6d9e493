/**
 * How a composite (racing, fallback, loadbalance) calls its members: through the pool's own
 * attempt lifecycle (src/pool/member-calls.ts), so a member's gates (rate limits, concurrency
 * caps, breaker trials, budgets) decide whether it may take the call, and each call is counted
 * on the member, its breaker, limits and ejection, and by the observers (metrics, logs).
 */
import type { Cancel } from "../util/cancel.js";
import type { CallOutcome, CallRole } from "./outcome.js";
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { UpstreamCall } from "./provider.js";

/**
 * What a pick needs to know of the request, worked out once per request by the pool (its
 * pick context carries these); composites build their member picks from the same facts.
 */
export interface RequestPickFacts {
  readonly request: ChatRequest;
  readonly stream: boolean;
  /** Estimated prompt tokens of the request. */
  readonly promptTokens: number;
  /** The request's max_tokens, else an estimate of the completion. */
  readonly maxTokens: number;
  /** Sticky routing key, when the request has one. */
  readonly affinityKey?: string;
}

/** One member call under way. */
export interface MemberCall {
  /** Record how it ended (once; later calls are ignored). */
  end(outcome: CallOutcome): void;
}

/** `M` is the member as the composite sees it (src/pool/composite/members.ts). */
export interface MemberCalls<M> {
  /** Whether `m`'s gates let it take `call` (sent to it as `model`) now. */
  admits(m: M, call: UpstreamCall, model: string, stream: boolean): boolean;
  /**
   * Before `m` starts on `call`, with limits shared by several replicas: reserve the call on
   * the shared counters. undefined: nothing to wait for, start now; else resolves true once
   * reserved (then `start` it) or false when the cluster refused it (skip the member, as a
   * gate would), or the call was aborted or `wanted()` (asked once granted: a race may be
   * over by then) is false, in which case the reservation is given back.
   */
  reserve?(m: M, call: UpstreamCall, wanted?: () => boolean): Promise<boolean> | undefined;
  /** `m` starts on `call`; `signal` is the member call's own abort signal. */
  start(m: M, call: UpstreamCall, model: string, role: CallRole, signal: Cancel): MemberCall;
  /** The pick facts of the request `call` belongs to, when the pool started it. */
  pickFacts?(call: UpstreamCall): RequestPickFacts | undefined;
  /** A racing composite decided a race among `entrants` on `call` (race_entries, race_wins). */
  raced?(call: UpstreamCall, entrants: readonly M[], winner: M): void;
}
