/**
 * Racing and hedging: several upstream calls ("legs") for one attempt. Under first_wins and
 * hedged the first leg to answer wins (for streams, the first to produce a token); under
 * weighted and quality the best answer within a grace window wins (race-scoring.ts). The
 * others are aborted and reported as lost. The caller (the pool, or a racing composite) owns the first leg; the
 * race asks its host for further legs, which the host picks with the strategy and accounts
 * as extra upstream calls.
 *
 * Contract with the host: every leg the race does not hand back ends through
 * `host.endLeg()` (lost legs as canceled, failed ones with their error), exactly once. The
 * leg it hands back (the winner) or, when every leg fails, the first leg, whose error it
 * throws, is the caller's to end. Timers come from `host.clock`, so tests drive hedging with
 * a fake clock.
 */
import { CallAbort, type Cancel } from "../util/cancel.js";
import type { ChatResult, StreamEvent } from "../core/provider.js";
import type { ProviderError } from "../core/errors.js";
import type { Clock } from "../util/clock.js";
import type { EndpointView, PickContext, RaceSpec } from "./strategy.js";
import type { RaceAnswer } from "./race-scoring.js";

/** The pieces of an attempt's signal the race needs (src/core/attempt-signal.ts AttemptSignal). */
export interface LegSignal {
  readonly signal: Cancel;
}

export interface Leg<C, S extends LegSignal = LegSignal> {
  readonly candidate: C;
  /** Aborts on the caller's cancel or deadline and on this leg's own timeout. */
  readonly attempt: S;
  /** Monotonic ms when the leg started. */
  readonly started: number;
}

export interface LegOutcome {
  /** True only for a leg that answered within a weighted or quality race's grace window and
   * was not chosen: its answer time is a real latency sample. */
  ok: boolean;
  latencyMs: number;
  /** True when the leg lost the race (aborted or discarded) before answering: an aborted leg
   * only says its latency was above `latencyMs` (a censored sample), which an EWMA cannot
   * take without biasing it low, so it is not counted as a sample. */
  canceled: boolean;
  error?: ProviderError;
}

export interface RaceHost<C, S extends LegSignal = LegSignal> {
  readonly clock: Clock;
  /** What the strategy knows about a candidate (hedge delays read it). */
  view(c: C): EndpointView;
  /** Pick a candidate not yet racing, account an extra upstream call and start its attempt
   * signal; undefined when no candidate is left. With shared limits the leg is reserved on
   * the shared counters first: a promise, settled with the started leg, or undefined when
   * none was admitted or `wanted()` (asked once the reservation is granted) says the race no
   * longer needs it (the host then gives the reservation back and starts nothing). */
  startLeg(wanted: () => boolean): Leg<C, S> | Promise<Leg<C, S> | undefined> | undefined;
  /** A leg the race does not hand back has ended. */
  endLeg(leg: Leg<C, S>, outcome: LegOutcome): void;
  /** A race with two legs or more was decided: every leg that entered, and the winner. */
  decided?(entrants: readonly C[], winner: C): void;
}

export interface RaceWin<C, S extends LegSignal, R> {
  leg: Leg<C, S>;
  result: R;
  /** Time from the winning leg's start to its answer, ms (under weighted and quality the race
   * is decided later, so this, not the time of the decision, is the leg's latency). */
  latencyMs: number;
}

/** Why a losing leg was aborted (providers see it as the abort reason). */
export class LostRace extends Error {
  constructor() {
    super("another upstream answered first");
    this.name = "LostRace";
  }
}

interface Running<C, S extends LegSignal, R> {
  leg: Leg<C, S>;
  ac: CallAbort;
  /** running -> answered | failed */
  state: "running" | "answered" | "failed";
  error?: ProviderError;
  /** weighted, quality: the answer held during the grace window. */
  result?: R;
  answer?: RaceAnswer;
}

/**
 * The race engine, shared by chat and stream: `run(leg, signal, answered, failed)` starts a
 * leg and reports when it answers (with what it answered, for weighted and quality) or fails.
 * first_wins and hedged take the first answer; weighted and quality hold answers until the
 * grace window after the first closes (or no leg is left running), then `spec.choose` picks.
 */
function race<C, S extends LegSignal, R>(
  spec: RaceSpec,
  host: RaceHost<C, S>,
  first: Leg<C, S>,
  ctx: PickContext,
  run: (leg: Leg<C, S>, signal: Cancel, answered: (r: R, answer: Omit<RaceAnswer, "view" | "latencyMs">) => void, failed: (e: ProviderError) => void) => void,
  discard: (r: R) => void,
): Promise<RaceWin<C, S, R>> {
  return new Promise((resolve, reject) => {
    const legs: Running<C, S, R>[] = [];
    const graced = spec.mode === "weighted" || spec.mode === "quality";
    const held: Running<C, S, R>[] = [];
    let done = false;
    let cancelTimer: (() => void) | undefined;

    const elapsed = (leg: Leg<C, S>) => host.clock.now() - leg.started;
    const finish = () => {
      done = true;
      cancelTimer?.();
      cancelTimer = undefined;
    };

    const win = (r: Running<C, S, R>, result: R) => {
      finish();
      for (const o of legs) {
        if (o === r) continue;
        if (o.state === "running") o.ac.abort(new LostRace());
        else if (o.state === "failed" && o.leg === first) {
          host.endLeg(first, { ok: false, latencyMs: elapsed(first), canceled: false, error: o.error });
        } else if (o.state === "answered" && o.answer) {
          // Answered in the grace window but not chosen: its answer time is a real sample.
          discard(o.result as R);
          host.endLeg(o.leg, { ok: true, latencyMs: o.answer.latencyMs, canceled: false });
        }
      }
      if (legs.length > 1) host.decided?.(legs.map((o) => o.leg.candidate), r.leg.candidate);
      resolve({ leg: r.leg, result, latencyMs: r.answer?.latencyMs ?? elapsed(r.leg) });
    };

    const decide = () => {
      if (done || held.length === 0) return;
      const i = spec.choose(
        held.map((o) => o.answer!),
        ctx,
      );
      const r = held[i]!;
      win(r, r.result as R);
    };

    const launch = (leg: Leg<C, S>) => {
      // Aborted when the leg loses, and with the attempt (the caller's cancel, the leg's timeout).
      const ac = new CallAbort(leg.attempt.signal);
      const r: Running<C, S, R> = { leg, ac, state: "running" };
      legs.push(r);
      run(
        leg,
        ac,
        (result, answer) => {
          if (r.state !== "running") return;
          r.state = "answered";
          if (done) {
            // Answered after another leg won: its answer is dropped.
            discard(result);
            host.endLeg(leg, { ok: false, latencyMs: elapsed(leg), canceled: true });
            return;
          }
          if (!graced) return win(r, result);
          r.result = result;
          r.answer = { ...answer, view: host.view(leg.candidate), latencyMs: elapsed(leg) };
          held.push(r);
          if (!legs.some((o) => o.state === "running")) return decide();
          if (held.length === 1) cancelTimer = host.clock.setTimeout(decide, spec.graceMs);
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
          if (held.length > 0) return decide();
          finish();
          const f = legs[0]!;
          reject(f.error ?? error);
        },
      );
    };

    launch(first);
    const wanted = () => !done;
    /** Start up to `left` more legs, one after another (a reserved leg waits for its grant). */
    const more = (left: number): void => {
      for (; left > 0 && !done; left--) {
        const got = host.startLeg(wanted);
        if (got === undefined) return;
        if (!(got instanceof Promise)) {
          launch(got);
          continue;
        }
        got.then(
          (leg) => {
            if (leg === undefined) return;
            if (done) return host.endLeg(leg, { ok: false, latencyMs: 0, canceled: true });
            launch(leg);
            more(left - 1);
          },
          () => undefined,
        );
        return;
      }
    };
    if (spec.mode !== "hedged") return more(spec.fanout - 1);
    spec.budget.deposit();
    const delay = spec.hedgeDelayMs(host.view(first.candidate), ctx);
    cancelTimer = host.clock.setTimeout(() => {
      cancelTimer = undefined;
      if (done || !spec.budget.tryWithdraw()) return;
      const got = host.startLeg(wanted);
      if (got === undefined) return spec.budget.refund();
      if (!(got instanceof Promise)) return launch(got);
      got.then(
        (leg) => {
          if (leg === undefined) return spec.budget.refund();
          if (done) return host.endLeg(leg, { ok: false, latencyMs: 0, canceled: true });
          launch(leg);
        },
        () => spec.budget.refund(),
      );
    }, delay);
  });
}

/** Race unary calls: the first successful result wins. */
export function raceChat<C, S extends LegSignal>(
  spec: RaceSpec,
  host: RaceHost<C, S>,
  first: Leg<C, S>,
  ctx: PickContext,
  call: (candidate: C, signal: Cancel) => Promise<ChatResult>,
): Promise<RaceWin<C, S, ChatResult>> {
  return race<C, S, ChatResult>(
    spec,
    host,
    first,
    ctx,
    (leg, signal, answered, failed) => {
      call(leg.candidate, signal).then(
        (r) => answered(r, { content: r.content, finishReason: r.finishReason, toolCalls: r.toolCalls.length }),
        (e: unknown) => failed(e as ProviderError),
      );
    },
    () => undefined,
  );
}

/**
 * Race streams: a leg answers when it produces content (a text or tool-call delta) or
 * finishes; under `quality` only when it finishes, since a scorer judges whole answers (each
 * leg is buffered to its end, so the winner's first token reaches the caller only then).
 * The winner comes back as an iterator that replays what that leg sent before, then continues
 * it; the losers are aborted and their streams closed.
 */
export function raceStream<C, S extends LegSignal>(
  spec: RaceSpec,
  host: RaceHost<C, S>,
  first: Leg<C, S>,
  ctx: PickContext,
  call: (candidate: C, signal: Cancel) => AsyncIterable<StreamEvent>,
): Promise<RaceWin<C, S, AsyncIterator<StreamEvent>> & { ttftMs?: number }> {
  const wholeAnswers = spec.mode === "quality";
  // Each leg's time to first content: under weighted and quality the winner's stream is read on
  // only after the decision, so its consumer cannot measure this itself.
  const firsts = new Map<Leg<C, S>, number>();
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
          if (next.done) return answered(replay(buffered, it, true), streamAnswer(buffered));
          buffered.push(next.value);
          const ev = next.value;
          if (!firsts.has(leg) && (ev.delta || (ev.toolCalls !== undefined && ev.toolCalls.length > 0))) firsts.set(leg, host.clock.now() - leg.started);
          if (!wholeAnswers && (ev.delta || (ev.toolCalls !== undefined && ev.toolCalls.length > 0))) {
            return answered(replay(buffered, it, false), streamAnswer(buffered));
          }
        }
      };
      pump().catch((e: unknown) => {
        void it.return?.(undefined)?.catch?.(() => undefined);
        failed(e as ProviderError);
      });
    },
    (lost) => void lost.return?.(undefined)?.catch?.(() => undefined),
  ).then((won) => ({ ...won, ttftMs: firsts.get(won.leg) }));
}

/** What a stream leg has answered so far, for scoring. */
function streamAnswer(events: readonly StreamEvent[]): Omit<RaceAnswer, "view" | "latencyMs"> {
  let content = "";
  let finishReason: StreamEvent["finishReason"];
  let toolCalls = 0;
  for (const ev of events) {
    if (ev.delta) content += ev.delta;
    if (ev.finishReason) finishReason = ev.finishReason;
    if (ev.toolCalls) toolCalls += ev.toolCalls.length;
  }
  return { content, finishReason, toolCalls };
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
