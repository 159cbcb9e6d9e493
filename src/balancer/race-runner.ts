/**
 * Racing and hedging: several upstream calls ("legs") for one attempt. The first leg to
 * answer wins (for streams, the first to produce a token); the others are aborted and
 * reported as lost. The caller (the pool, or a racing composite) owns the first leg; the
 * race asks its host for further legs, which the host picks with the strategy and accounts
 * as extra upstream calls.
 *
 * Contract with the host: every leg the race does not hand back ends through
 * `host.endLeg()` (lost legs as canceled, failed ones with their error), exactly once. The
 * leg it hands back (the winner) or, when every leg fails, the first leg, whose error it
 * throws, is the caller's to end. Timers come from `host.clock`, so tests drive hedging with
 * a fake clock.
 */
import type { ChatResult, StreamEvent } from "../core/provider.js";
import type { ProviderError } from "../core/errors.js";
import type { Clock } from "../util/clock.js";
import type { EndpointView, PickContext, RaceSpec } from "./strategy.js";

/** The pieces of an attempt's signal the race needs (src/core/attempt-signal.ts AttemptSignal). */
export interface LegSignal {
  readonly signal: AbortSignal;
}

export interface Leg<C, S extends LegSignal = LegSignal> {
  readonly candidate: C;
  /** Aborts on the caller's cancel or deadline and on this leg's own timeout. */
  readonly attempt: S;
  /** Monotonic ms when the leg started. */
  readonly started: number;
}

export interface LegOutcome {
  ok: false;
  latencyMs: number;
  /** True when the leg lost the race (aborted or discarded), not failed on its own. */
  canceled: boolean;
  error?: ProviderError;
}

export interface RaceHost<C, S extends LegSignal = LegSignal> {
  readonly clock: Clock;
  /** What the strategy knows about a candidate (hedge delays read it). */
  view(c: C): EndpointView;
  /** Pick a candidate not yet racing, account an extra upstream call and start its attempt
   * signal; undefined when no candidate is left. */
  startLeg(): Leg<C, S> | undefined;
  /** A leg the race does not hand back has ended. */
  endLeg(leg: Leg<C, S>, outcome: LegOutcome): void;
}

export interface RaceWin<C, S extends LegSignal, R> {
  leg: Leg<C, S>;
  result: R;
}

/** Why a losing leg was aborted (providers see it as the abort reason). */
export class LostRace extends Error {
  constructor() {
    super("another upstream answered first");
    this.name = "LostRace";
  }
}

interface Running<C, S extends LegSignal> {
  leg: Leg<C, S>;
  ac: AbortController;
  /** running -> answered | failed */
  state: "running" | "answered" | "failed";
  error?: ProviderError;
}

/**
 * The race engine, shared by chat and stream: `run(leg, signal, answered, failed)` starts a
 * leg and reports when it answers or fails.
 */
function race<C, S extends LegSignal, R>(
  spec: RaceSpec,
  host: RaceHost<C, S>,
  first: Leg<C, S>,
  ctx: PickContext,
  run: (leg: Leg<C, S>, signal: AbortSignal, answered: (r: R) => void, failed: (e: ProviderError) => void) => void,
  discard: (r: R) => void,
): Promise<RaceWin<C, S, R>> {
  return new Promise((resolve, reject) => {
    const legs: Running<C, S>[] = [];
    let done = false;
    let cancelHedge: (() => void) | undefined;

    const elapsed = (leg: Leg<C, S>) => host.clock.now() - leg.started;
    const finish = () => {
      done = true;
      cancelHedge?.();
      cancelHedge = undefined;
    };

    const launch = (leg: Leg<C, S>) => {
      const ac = new AbortController();
      const r: Running<C, S> = { leg, ac, state: "running" };
      legs.push(r);
      const signal = AbortSignal.any([leg.attempt.signal, ac.signal]);
      run(
        leg,
        signal,
        (result) => {
          if (r.state !== "running") return;
          r.state = "answered";
          if (done) {
            // Answered after another leg won: its answer is dropped.
            discard(result);
            host.endLeg(leg, { ok: false, latencyMs: elapsed(leg), canceled: true });
            return;
          }
          finish();
          for (const o of legs) {
            if (o === r) continue;
            if (o.state === "running") o.ac.abort(new LostRace());
            else if (o.state === "failed" && o.leg === first) {
              host.endLeg(first, { ok: false, latencyMs: elapsed(first), canceled: false, error: o.error });
            }
          }
          resolve({ leg, result });
        },
        (error) => {
          if (r.state !== "running") return;
          r.state = "failed";
          r.error = error;
          if (done) {
            host.endLeg(leg, { ok: false, latencyMs: elapsed(leg), canceled: true });
            return;
          }
          // The first leg's failure is the caller's to record unless another leg wins.
          if (leg !== first) host.endLeg(leg, { ok: false, latencyMs: elapsed(leg), canceled: false, error });
          if (legs.some((o) => o.state === "running")) return;
          finish();
          const f = legs[0]!;
          reject(f.error ?? error);
        },
      );
    };

    launch(first);
    if (spec.mode === "first_wins") {
      for (let i = 1; i < spec.fanout && !done; i++) {
        const leg = host.startLeg();
        if (!leg) break;
        launch(leg);
      }
      return;
    }
    spec.budget.deposit();
    const delay = spec.hedgeDelayMs(host.view(first.candidate), ctx);
    cancelHedge = host.clock.setTimeout(() => {
      cancelHedge = undefined;
      if (done || !spec.budget.tryWithdraw()) return;
      const leg = host.startLeg();
      if (!leg) {
        spec.budget.refund();
        return;
      }
      launch(leg);
    }, delay);
  });
}

/** Race unary calls: the first successful result wins. */
export function raceChat<C, S extends LegSignal>(
  spec: RaceSpec,
  host: RaceHost<C, S>,
  first: Leg<C, S>,
  ctx: PickContext,
  call: (candidate: C, signal: AbortSignal) => Promise<ChatResult>,
): Promise<RaceWin<C, S, ChatResult>> {
  return race<C, S, ChatResult>(
    spec,
    host,
    first,
    ctx,
    (leg, signal, answered, failed) => {
      call(leg.candidate, signal).then(answered, (e: unknown) => failed(e as ProviderError));
    },
    () => undefined,
  );
}

/**
 * Race streams: the first leg to produce content (a text or tool-call delta), or to finish,
 * wins. The winner comes back as an iterator that replays what that leg sent before, then
 * continues it; the losers are aborted and their streams closed.
 */
export function raceStream<C, S extends LegSignal>(
  spec: RaceSpec,
  host: RaceHost<C, S>,
  first: Leg<C, S>,
  ctx: PickContext,
  call: (candidate: C, signal: AbortSignal) => AsyncIterable<StreamEvent>,
): Promise<RaceWin<C, S, AsyncIterator<StreamEvent>>> {
  return race<C, S, AsyncIterator<StreamEvent>>(
    spec,
    host,
    first,
    ctx,
    (leg, signal, answered, failed) => {
      let it: AsyncIterator<StreamEvent>;
      try {
        it = call(leg.candidate, signal)[Symbol.asyncIterator]();
      } catch (e) {
        failed(e as ProviderError);
        return;
      }
      const buffered: StreamEvent[] = [];
      const pump = async () => {
        for (;;) {
          const next = await it.next();
          if (next.done) return answered(replay(buffered, it, true));
          buffered.push(next.value);
          const ev = next.value;
          if (ev.delta || (ev.toolCalls !== undefined && ev.toolCalls.length > 0)) {
            return answered(replay(buffered, it, false));
          }
        }
      };
      pump().catch((e: unknown) => {
        void it.return?.(undefined)?.catch?.(() => undefined);
        failed(e as ProviderError);
      });
    },
    (lost) => void lost.return?.(undefined)?.catch?.(() => undefined),
  );
}

/** Yields `buffered`, then the rest of `it` (unless it already ended). */
function replay(buffered: StreamEvent[], it: AsyncIterator<StreamEvent>, ended: boolean): AsyncIterator<StreamEvent> {
  let i = 0;
  return {
    next() {
      if (i < buffered.length) return Promise.resolve({ done: false, value: buffered[i++]! });
      if (ended) return Promise.resolve({ done: true, value: undefined });
      return it.next();
    },
    return(value?: unknown) {
      i = buffered.length;
      ended = true;
      return it.return ? it.return(value) : Promise.resolve({ done: true, value: undefined });
    },
  };
}
