/**
 * Composites call their members through the pool's attempt lifecycle (the contract is
 * src/core/member-calls.ts): before a member is chosen, the pool's gates (breaker trials,
 * rpm/rpd/tpm, cool-downs, budgets) must admit it, as they would for the pool's own choice;
 * each member call is then started and ended by Attempts (attempts.ts), so the member's
 * breaker, ejection, limits, latency samples and the observers (metrics, logs, budgets) see
 * it. The request is found by the abort signal of the attempt the composite was called with.
 * With shared limits (src/state) each member call is reserved on the cluster's counters
 * before it starts and settled when it ends, as the pool's own attempts are.
 */
import type { EndpointGate } from "../core/gate.js";
import type { MemberCall, MemberCalls } from "../core/member-calls.js";
import type { Attempts } from "./attempts.js";
import type { Endpoint } from "./endpoint.js";
import { estimatePromptTokens } from "./tokens.js";

export interface MemberCallsOptions {
  attempts: Attempts;
  /** The pool's endpoint gates, read on every check (the same list the pool asks). */
  gates: () => readonly EndpointGate<Endpoint>[];
  now: () => number;
}

export function createMemberCalls(o: MemberCallsOptions): MemberCalls<Endpoint> {
  const { attempts } = o;
  return {
    admits(m, call, model, stream) {
      const plan = attempts.planOf(call.signal);
      // Outside a request of this pool (a composite's own health check): nothing to gate on.
      if (plan === undefined) return true;
      const req = { ...plan.gate, stream, upstreamModel: model };
      const now = o.now();
      for (const g of o.gates()) if (g.check(m, req, now)) return false;
      return true;
    },
    reserve(m, call, wanted) {
      return attempts.reserveMember(attempts.planOf(call.signal), m, call.signal, wanted);
    },
    start(m, call, _model, role, signal): MemberCall {
      const plan = attempts.planOf(call.signal);
      const tokens = plan?.pick.promptTokens ?? estimatePromptTokens(call.request);
      const at = attempts.startMember(plan, m, role, tokens, signal);
      return { end: (outcome) => attempts.endMember(at, outcome) };
    },
    pickFacts(call) {
      return attempts.planOf(call.signal)?.pick;
    },
    raced(call, entrants, winner) {
      attempts.raceDecided(
        attempts.planOf(call.signal),
        entrants.map((m) => m.name),
        winner.name,
      );
    },
  };
}
