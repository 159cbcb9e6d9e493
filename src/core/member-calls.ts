/**
 * How a composite (racing, fallback, loadbalance) calls its members: through the pool's own
 * attempt lifecycle (src/pool/member-calls.ts), so a member's gates (rate limits, concurrency
 * caps, breaker trials, budgets) decide whether it may take the call, and each call is counted
 * on the member, its breaker, limits and ejection, and by the observers (metrics, logs).
 */
import type { CallOutcome, CallRole } from "./outcome.js";
import type { UpstreamCall } from "./provider.js";

/** One member call under way. */
export interface MemberCall {
  /** Record how it ended (once; later calls are ignored). */
  end(outcome: CallOutcome): void;
}

/** `M` is the member as the composite sees it (src/pool/composite/members.ts). */
export interface MemberCalls<M> {
  /** Whether `m`'s gates let it take `call` (sent to it as `model`) now. */
  admits(m: M, call: UpstreamCall, model: string, stream: boolean): boolean;
  /** `m` starts on `call`; `signal` is the member call's own abort signal. */
  start(m: M, call: UpstreamCall, model: string, role: CallRole, signal: AbortSignal): MemberCall;
  /** A racing composite decided a race among `entrants` on `call` (race_entries, race_wins). */
  raced?(call: UpstreamCall, entrants: readonly M[], winner: M): void;
}
