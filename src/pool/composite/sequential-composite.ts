/**
 * Sequential composites: `fallback` tries its members in the order listed, `loadbalance`
 * picks each next member with a strategy (default adaptive); both move on to another member
 * when one fails with a retryable or provider-specific error, each member at most once per
 * call. Streams move on only before the first token (after it, the failure is the caller's;
 * the pool's own stream handling takes over).
 */
import type { ChatResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";
import type { MemberCall, MemberCalls } from "../../core/member-calls.js";
import { attemptSignal, type AttemptSignal } from "../../core/attempt-signal.js";
import type { Clock } from "../../util/clock.js";
import type { PickContext, Strategy } from "../../balancer/strategy.js";
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
import type { ProviderConfig } from "../../config/schema.js";

export interface SequentialOptions {
  cfg: ProviderConfig;
  members: MemberEndpoint[];
  clock: Clock;
  random: () => number;
  /** loadbalance: how the next member is picked; undefined = in the order listed (fallback). */
  strategy?: Strategy;
  /** How member calls are admitted and recorded (default: on the member only). */
  calls?: MemberCalls<MemberEndpoint>;
}

export class SequentialComposite implements Provider {
  readonly name: string;
  readonly type: string;
  readonly capabilities: ProviderCapabilities;
  private readonly calls: MemberCalls<MemberEndpoint>;

  constructor(private readonly o: SequentialOptions) {
    this.name = o.cfg.name;
    this.type = o.cfg.type;
    this.capabilities = compositeCapabilities(o.cfg, o.members);
    this.calls = o.calls ?? directMemberCalls;
  }

  private next(call: UpstreamCall, stream: boolean, tried: Set<MemberEndpoint>, ctx: PickContext & { now: number }): MemberEndpoint | undefined {
    const open = available(this.o.members, tried, this.calls, call, stream);
    if (open.length === 0) return undefined;
    if (!this.o.strategy) return open[0];
    ctx.now = this.o.clock.now();
    return this.o.strategy.pick(open, ctx);
  }

  /** Start the member call: its own timeout, model and record in the pool's lifecycle. */
  private open(m: MemberEndpoint, call: UpstreamCall, first: boolean): { started: number; att: AttemptSignal; model: string; mc: MemberCall } {
    const att = attemptSignal(call.signal, m.config.timeout_ms, m.name, this.o.clock);
    const model = memberModel(m, call.model);
    return { started: this.o.clock.now(), att, model, mc: this.calls.start(m, call, model, first ? "first" : "fallback", att.signal) };
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const ctx = memberPickContext(this.calls, call, false, this.o.clock.now(), this.o.random);
    const tried = new Set<MemberEndpoint>();
    const errors: ProviderError[] = [];
    for (let m = this.next(call, false, tried, ctx); m; m = this.next(call, false, tried, ctx)) {
      tried.add(m);
      // With shared limits the member is reserved first; a refused one is skipped like a gated one.
      const pending = this.calls.reserve?.(m, call);
      if (pending !== undefined && !(await pending)) {
        if (call.signal.aborted) break;
        continue;
      }
      const { started, att, model, mc } = this.open(m, call, tried.size === 1);
      try {
        const res = await m.provider.chat({ ...call, model, signal: att.signal });
        mc.end({ ok: true, latencyMs: this.o.clock.now() - started });
        return { ...res, servedBy: servedBy(m, model, res.servedBy) };
      } catch (err) {
        const pe = ProviderError.from(err, m.name);
        mc.end({ ok: false, latencyMs: this.o.clock.now() - started, error: pe, canceled: call.signal.aborted });
        if (call.signal.aborted) throw pe;
        errors.push(pe);
        if (pe.scope === "request") break;
      } finally {
        att.done();
      }
    }
    throw membersFailed(this.name, errors);
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const ctx = memberPickContext(this.calls, call, true, this.o.clock.now(), this.o.random);
    const tried = new Set<MemberEndpoint>();
    const errors: ProviderError[] = [];
    for (let m = this.next(call, true, tried, ctx); m; m = this.next(call, true, tried, ctx)) {
      tried.add(m);
      // With shared limits the member is reserved first; a refused one is skipped like a gated one.
      const pending = this.calls.reserve?.(m, call);
      if (pending !== undefined && !(await pending)) {
        if (call.signal.aborted) break;
        continue;
      }
      const { started, att, model, mc } = this.open(m, call, tried.size === 1);
      const it = m.provider.stream({ ...call, model, signal: att.signal })[Symbol.asyncIterator]();
      // Events before the first token are held back, so a member that fails before answering
      // leaves no trace in the stream.
      const held: StreamEvent[] = [];
      let ttftMs: number | undefined;
      let settled = false;
      try {
        for (;;) {
          const n = await it.next();
          if (n.done) break;
          if (ttftMs !== undefined) {
            yield n.value;
            continue;
          }
          held.push(n.value);
          if (!hasContent(n.value)) continue;
          ttftMs = this.o.clock.now() - started;
          att.clearTimeout();
          yield* release(held, m, model);
        }
        if (ttftMs === undefined) yield* release(held, m, model);
        settled = true;
        const latencyMs = this.o.clock.now() - started;
        mc.end({ ok: true, latencyMs, ttftMs: ttftMs ?? latencyMs });
        return;
      } catch (err) {
        settled = true;
        const pe = ProviderError.from(err, m.name);
        mc.end({ ok: false, latencyMs: this.o.clock.now() - started, error: pe, canceled: call.signal.aborted });
        if (call.signal.aborted || ttftMs !== undefined) throw pe;
        errors.push(pe);
        if (pe.scope === "request") break;
      } finally {
        att.done();
        if (!settled) {
          // The consumer stopped reading: release the member's stream.
          mc.end({ ok: false, latencyMs: this.o.clock.now() - started, canceled: true });
          void it.return?.(undefined)?.catch?.(() => undefined);
        }
      }
    }
    throw membersFailed(this.name, errors);
  }

  probe(): Promise<void> {
    return probeMembers(this.name, this.o.members);
  }

  async close(): Promise<void> {}
}

/** The held events, the first tagged with the member that serves the stream. */
function* release(held: StreamEvent[], m: MemberEndpoint, model: string): Generator<StreamEvent> {
  for (let i = 0; i < held.length; i++) {
    const ev = held[i]!;
    yield i === 0 ? { ...ev, servedBy: servedBy(m, model, ev.servedBy) } : ev;
  }
  held.length = 0;
}
