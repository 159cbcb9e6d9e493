/**
 * The racing composite: its members race for every call, as the `racing` strategy does for
 * the pool (first_wins over `fanout` members, or hedged), with options from the composite's
 * `strategy_options.racing` (else the pool's). Nested in a pool it is one provider, so "a
 * racing pair inside a weighted pool" is two providers in a composite listed beside others.
 */
import type { ChatResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";
import type { MemberCall, MemberCalls } from "../../core/member-calls.js";
import { attemptSignal, type AttemptSignal } from "../../core/attempt-signal.js";
import type { ProviderConfig } from "../../config/schema.js";
import type { Clock } from "../../util/clock.js";
import { raceChat, raceStream, type Leg, type RaceHost } from "../../balancer/race-runner.js";
import type { PickContext, RaceSpec, Strategy } from "../../balancer/strategy.js";
import {
  probeMembers,
  available,
  directMemberCalls,
  compositeCapabilities,
  hasContent,
  memberModel,
  memberPickContext,
  membersFailed,
  servedBy,
  type MemberEndpoint,
} from "./members.js";

export interface RacingCompositeOptions {
  cfg: ProviderConfig;
  members: MemberEndpoint[];
  clock: Clock;
  random: () => number;
  /** A `racing` strategy (its `race` says how; its pick chooses each leg). */
  strategy: Strategy;
  /** How member calls are admitted and recorded (default: on the member only). */
  calls?: MemberCalls<MemberEndpoint>;
}

/** A leg's candidate: the member and its call under way. */
interface Runner {
  readonly m: MemberEndpoint;
  readonly call: MemberCall;
}
type MemberLeg = Leg<Runner, AttemptSignal>;
const always = () => true;

export class RacingComposite implements Provider {
  readonly name: string;
  readonly type: string;
  readonly capabilities: ProviderCapabilities;
  private readonly race: RaceSpec;
  private readonly calls: MemberCalls<MemberEndpoint>;

  constructor(private readonly o: RacingCompositeOptions) {
    this.name = o.cfg.name;
    this.type = o.cfg.type;
    this.capabilities = compositeCapabilities(o.cfg, o.members);
    this.race = o.strategy.race!;
    this.calls = o.calls ?? directMemberCalls;
  }

  /**
   * Start a leg on the member the strategy picks among those not yet racing. With shared
   * limits the member is reserved first (a promise): a refused one is skipped and the
   * strategy picks again; `wanted` says whether the race still needs the leg once granted.
   */
  private startLeg(call: UpstreamCall, ctx: PickContext & { now: number }, tried: Set<MemberEndpoint>, wanted: () => boolean): MemberLeg | Promise<MemberLeg | undefined> | undefined {
    const m = this.pick(call, ctx, tried);
    if (!m) return undefined;
    const pending = this.calls.reserve?.(m, call, wanted);
    return pending === undefined ? this.launch(m, call) : this.reservedLeg(m, pending, call, ctx, tried, wanted);
  }

  private async reservedLeg(m: MemberEndpoint, pending: Promise<boolean>, call: UpstreamCall, ctx: PickContext & { now: number }, tried: Set<MemberEndpoint>, wanted: () => boolean): Promise<MemberLeg | undefined> {
    for (;;) {
      if (await pending) return this.launch(m, call);
      if (call.signal.aborted || !wanted()) return undefined;
      const next = this.pick(call, ctx, tried);
      if (!next) return undefined;
      m = next;
      pending = this.calls.reserve!(m, call, wanted) ?? Promise.resolve(true);
    }
  }

  private pick(call: UpstreamCall, ctx: PickContext & { now: number }, tried: Set<MemberEndpoint>): MemberEndpoint | undefined {
    const open = available(this.o.members, tried, this.calls, call, ctx.stream);
    if (open.length === 0) return undefined;
    ctx.now = this.o.clock.now();
    const m = this.o.strategy.pick(open, ctx);
    if (m) tried.add(m);
    return m;
  }

  private launch(m: MemberEndpoint, call: UpstreamCall): MemberLeg {
    const attempt = attemptSignal(call.signal, m.config.timeout_ms, m.name, this.o.clock);
    const mc = this.calls.start(m, call, memberModel(m, call.model), "first", attempt.signal);
    return { candidate: { m, call: mc }, attempt, started: this.o.clock.now() };
  }

  private host(call: UpstreamCall, ctx: PickContext & { now: number }, tried: Set<MemberEndpoint>): RaceHost<Runner, AttemptSignal> {
    return {
      clock: this.o.clock,
      view: (r) => r.m,
      startLeg: (wanted) => this.startLeg(call, ctx, tried, wanted),
      endLeg: (leg, outcome) => {
        leg.attempt.done();
        leg.candidate.call.end({ ...outcome, canceled: outcome.canceled || call.signal.aborted });
      },
      decided: (entrants, winner) =>
        this.calls.raced?.(
          call,
          entrants.map((r) => r.m),
          winner.m,
        ),
    };
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const ctx = memberPickContext(this.calls, call, false, this.o.clock.now(), this.o.random);
    const tried = new Set<MemberEndpoint>();
    const got = this.startLeg(call, ctx, tried, always);
    const first = got instanceof Promise ? await got : got;
    if (!first) throw membersFailed(this.name, []);
    try {
      const won = await raceChat(this.race, this.host(call, ctx, tried), first, ctx, ({ m }, signal) =>
        m.provider.chat({ ...call, model: memberModel(m, call.model), signal }),
      );
      const m = won.leg.candidate.m;
      won.leg.candidate.call.end({ ok: true, latencyMs: won.latencyMs });
      won.leg.attempt.done();
      return { ...won.result, servedBy: servedBy(m, memberModel(m, call.model), won.result.servedBy) };
    } catch (err) {
      const pe = ProviderError.from(err, first.candidate.m.name);
      first.candidate.call.end({ ok: false, latencyMs: this.o.clock.now() - first.started, error: pe, canceled: call.signal.aborted });
      first.attempt.done();
      throw call.signal.aborted ? pe : membersFailed(this.name, [pe]);
    }
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const ctx = memberPickContext(this.calls, call, true, this.o.clock.now(), this.o.random);
    const tried = new Set<MemberEndpoint>();
    const got = this.startLeg(call, ctx, tried, always);
    const first = got instanceof Promise ? await got : got;
    if (!first) throw membersFailed(this.name, []);
    let leg: MemberLeg = first;
    let it: AsyncIterator<StreamEvent>;
    let racedTtft: number | undefined;
    try {
      const won = await raceStream(this.race, this.host(call, ctx, tried), first, ctx, ({ m }, signal) =>
        m.provider.stream({ ...call, model: memberModel(m, call.model), signal }),
      );
      leg = won.leg;
      it = won.result;
      racedTtft = won.ttftMs;
    } catch (err) {
      const pe = ProviderError.from(err, first.candidate.m.name);
      first.candidate.call.end({ ok: false, latencyMs: this.o.clock.now() - first.started, error: pe, canceled: call.signal.aborted });
      first.attempt.done();
      throw call.signal.aborted ? pe : membersFailed(this.name, [pe]);
    }
    const { m, call: mc } = leg.candidate;
    const model = memberModel(m, call.model);
    let ttftMs: number | undefined;
    let settled = false;
    let tagged = false;
    try {
      for (;;) {
        const n = await it.next();
        if (n.done) break;
        let ev = n.value;
        if (ttftMs === undefined && hasContent(ev)) {
          ttftMs = racedTtft ?? this.o.clock.now() - leg.started;
          leg.attempt.clearTimeout();
        }
        if (!tagged) {
          tagged = true;
          ev = { ...ev, servedBy: servedBy(m, model, ev.servedBy) };
        }
        yield ev;
      }
      settled = true;
      const latencyMs = this.o.clock.now() - leg.started;
      mc.end({ ok: true, latencyMs, ttftMs: ttftMs ?? latencyMs });
    } catch (err) {
      settled = true;
      const pe = ProviderError.from(err, m.name);
      mc.end({ ok: false, latencyMs: this.o.clock.now() - leg.started, error: pe, canceled: call.signal.aborted });
      throw pe;
    } finally {
      leg.attempt.done();
      if (!settled) {
        mc.end({ ok: false, latencyMs: this.o.clock.now() - leg.started, canceled: true });
        void it.return?.(undefined)?.catch?.(() => undefined);
      }
    }
  }

  probe(): Promise<void> {
    return probeMembers(this.name, this.o.members);
  }

  async close(): Promise<void> {}
}
