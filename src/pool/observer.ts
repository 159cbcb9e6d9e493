/**
 * Observers see every request and every upstream attempt as it happens: metrics, logs and
 * the cost ledger are observers, so the pool itself stays free of them.
 */
import type { CallOutcome, CallRole, RequestRecord } from "../core/outcome.js";
import type { EndpointView, PickContext, Strategy } from "../balancer/strategy.js";
import type { Endpoint } from "./endpoint.js";

export interface PoolObserver {
  requestStarted?(r: RequestRecord): void;
  /** The strategy chose `chosen` among `candidates` (debug logging of selection decisions). */
  picked?(r: RequestRecord, candidates: readonly EndpointView[], chosen: EndpointView, strategy: Strategy, ctx: PickContext): void;
  attemptStarted?(r: RequestRecord, endpoint: Endpoint, role: CallRole): void;
  attemptEnded?(r: RequestRecord, endpoint: Endpoint, outcome: CallOutcome): void;
  /**
   * A race of two legs or more was decided (strategy `racing`, or a racing composite among its
   * members): the providers whose legs entered, and the one whose answer won.
   */
  raceDecided?(r: RequestRecord, entrants: readonly string[], winner: string): void;
  /** Called once per request; `r.error` is set when it failed. */
  requestEnded?(r: RequestRecord): void;
}
