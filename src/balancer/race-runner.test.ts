import type { Cancel } from "../util/cancel.js";
import { describe, expect, it } from "vitest";
import { type ChatResult, type StreamEvent } from "../core/provider.js";
import { ProviderError } from "../core/errors.js";
import { createFakeClock, type FakeClock } from "../util/clock.js";
import { fakeContext, fakeView } from "../../test/helpers/fake-endpoint.js";
import { createHedgeBudget } from "./hedge-budget.js";
import { raceChat, raceStream, type Leg, type LegOutcome, type RaceHost } from "./race-runner.js";
import type { RaceSpec } from "./strategy.js";

type Deferred<T> = { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
const flush = () => new Promise((r) => setImmediate(r));
const result = (content: string): ChatResult => ({ id: content, model: "m", content, toolCalls: [], finishReason: "stop", rawFinishReason: "stop" });
const fail = (provider: string) => new ProviderError({ provider, kind: "server", status: 500, message: "boom" });

/** A host over named candidates: records legs started and ended. */
function host(clock: FakeClock, available: string[]) {
  const queue = [...available];
  const ended: [string, LegOutcome][] = [];
  const started: string[] = [];
  const h: RaceHost<string> = {
    clock,
    view: (c) => fakeView(c, { samples: 100, latencies: [100, 200, 300] }),
    startLeg() {
      const c = queue.shift();
      if (!c) return undefined;
      started.push(c);
      return { candidate: c, attempt: { signal: new AbortController().signal }, started: clock.now() };
    },
    endLeg: (leg, o) => void ended.push([leg.candidate, o]),
  };
  return { h, ended, started };
}
const firstLeg = (clock: FakeClock, name = "first"): Leg<string> => ({ candidate: name, attempt: { signal: new AbortController().signal }, started: clock.now() });

function spec(init: { mode?: RaceSpec["mode"]; fanout?: number; delay?: number; budget?: number } = {}): RaceSpec {
  return {
    mode: init.mode ?? "hedged",
    fanout: init.fanout ?? 2,
    budget: createHedgeBudget(init.budget ?? 1),
    hedgeDelayMs: () => init.delay ?? 100,
    graceMs: 0,
    choose: () => 0,
  };
}

describe("raceChat first_wins", () => {
  it("starts fanout legs at once; the first answer wins and the others are aborted and ended as lost", async () => {
    const clock = createFakeClock();
    const { h, ended, started } = host(clock, ["b", "c", "d"]);
    const calls = new Map<string, { d: Deferred<ChatResult>; signal: Cancel }>();
    const p = raceChat(spec({ mode: "first_wins", fanout: 3 }), h, firstLeg(clock), fakeContext(), (c, signal) => {
      const d = deferred<ChatResult>();
      signal.addEventListener("abort", () => d.reject(new ProviderError({ provider: c, kind: "canceled", message: "aborted" })));
      calls.set(c, { d, signal });
      return d.promise;
    });
    expect(started).toEqual(["b", "c"]);
    expect([...calls.keys()]).toEqual(["first", "b", "c"]);
    clock.advance(30);
    calls.get("c")!.d.resolve(result("from c"));
    const won = await p;
    expect(won.leg.candidate).toBe("c");
    expect(won.result.content).toBe("from c");
    expect(calls.get("first")!.signal.aborted).toBe(true);
    expect(calls.get("b")!.signal.aborted).toBe(true);
    await flush();
    expect(ended.map(([c, o]) => [c, o.canceled])).toEqual(
      expect.arrayContaining([
        ["first", true],
        ["b", true],
      ]),
    );
    expect(ended).toHaveLength(2);
  });

  it("waits for the others when one fails, and records the failure", async () => {
    const clock = createFakeClock();
    const { h, ended } = host(clock, ["b"]);
    const d = { first: deferred<ChatResult>(), b: deferred<ChatResult>() };
    const p = raceChat(spec({ mode: "first_wins" }), h, firstLeg(clock), fakeContext(), (c) => d[c as "first" | "b"].promise);
    d.b.reject(fail("b"));
    await flush();
    expect(ended.map(([c, o]) => [c, o.canceled, o.error?.provider])).toEqual([["b", false, "b"]]);
    d.first.resolve(result("first"));
    expect((await p).leg.candidate).toBe("first");
  });

  it("when every leg fails, throws the first leg's error and leaves that leg to the caller", async () => {
    const clock = createFakeClock();
    const { h, ended } = host(clock, ["b"]);
    const d = { first: deferred<ChatResult>(), b: deferred<ChatResult>() };
    const p = raceChat(spec({ mode: "first_wins" }), h, firstLeg(clock), fakeContext(), (c) => d[c as "first" | "b"].promise);
    d.first.reject(fail("first"));
    await flush();
    expect(ended).toEqual([]);
    d.b.reject(fail("b"));
    await expect(p).rejects.toMatchObject({ provider: "first" });
    expect(ended.map(([c]) => c)).toEqual(["b"]);
  });

  it("records the first leg's failure when another leg then wins", async () => {
    const clock = createFakeClock();
    const { h, ended } = host(clock, ["b"]);
    const d = { first: deferred<ChatResult>(), b: deferred<ChatResult>() };
    const p = raceChat(spec({ mode: "first_wins" }), h, firstLeg(clock), fakeContext(), (c) => d[c as "first" | "b"].promise);
    d.first.reject(fail("first"));
    await flush();
    d.b.resolve(result("b"));
    expect((await p).leg.candidate).toBe("b");
    expect(ended.map(([c, o]) => [c, o.canceled, o.error?.provider])).toEqual([["first", false, "first"]]);
  });
});

describe("raceChat hedged", () => {
  it("hedges only after the delay; the hedge wins and the first leg is aborted", async () => {
    const clock = createFakeClock();
    const { h, ended, started } = host(clock, ["b"]);
    const d = { first: deferred<ChatResult>(), b: deferred<ChatResult>() };
    const signals: Record<string, Cancel> = {};
    const p = raceChat(spec({ delay: 100 }), h, firstLeg(clock), fakeContext(), (c, signal) => {
      signals[c] = signal;
      signal.addEventListener("abort", () => d[c as "first" | "b"].reject(new Error("aborted")));
      return d[c as "first" | "b"].promise;
    });
    clock.advance(99);
    expect(started).toEqual([]);
    clock.advance(1);
    expect(started).toEqual(["b"]);
    d.b.resolve(result("b"));
    expect((await p).leg.candidate).toBe("b");
    expect(signals.first!.aborted).toBe(true);
    await flush();
    expect(ended.map(([c, o]) => [c, o.canceled])).toEqual([["first", true]]);
  });

  it("does not hedge when the first leg answers in time, and cancels the timer", async () => {
    const clock = createFakeClock();
    const { h, started } = host(clock, ["b"]);
    const d = deferred<ChatResult>();
    const p = raceChat(spec({ delay: 100 }), h, firstLeg(clock), fakeContext(), () => d.promise);
    clock.advance(50);
    d.resolve(result("first"));
    expect((await p).leg.candidate).toBe("first");
    expect(clock.pending()).toBe(0);
    clock.advance(100);
    expect(started).toEqual([]);
  });

  it("does not hedge beyond the budget", async () => {
    const clock = createFakeClock();
    const s = spec({ delay: 10, budget: 0.01 });
    let hedges = 0;
    for (let i = 0; i < 5; i++) {
      const { h, started } = host(clock, ["b"]);
      const d = deferred<ChatResult>();
      const p = raceChat(s, h, firstLeg(clock), fakeContext(), (c) => (c === "first" ? d.promise : new Promise<ChatResult>(() => undefined)));
      clock.advance(20);
      hedges += started.length;
      d.resolve(result("first"));
      await p;
    }
    // The bucket starts with one token and earns 0.01 per request.
    expect(hedges).toBe(1);
  });

  it("gives the first leg's failure back at once when nothing else is running", async () => {
    const clock = createFakeClock();
    const { h, started } = host(clock, ["b"]);
    const d = deferred<ChatResult>();
    const p = raceChat(spec({ delay: 100 }), h, firstLeg(clock), fakeContext(), () => d.promise);
    d.reject(fail("first"));
    await expect(p).rejects.toMatchObject({ provider: "first" });
    expect(clock.pending()).toBe(0);
    expect(started).toEqual([]);
  });

  it("refunds the budget when no endpoint is left to hedge to", async () => {
    const clock = createFakeClock();
    const { h } = host(clock, []);
    const s = spec({ delay: 10, budget: 0.01 });
    const d = deferred<ChatResult>();
    const p = raceChat(s, h, firstLeg(clock), fakeContext(), () => d.promise);
    clock.advance(20);
    d.resolve(result("first"));
    await p;
    expect(s.budget.tryWithdraw()).toBe(true);
  });
});

describe("raceStream", () => {
  /** A stream fed by hand: push events, end it, or fail it. */
  function manualStream(signal: Cancel) {
    const events: StreamEvent[] = [];
    let waiting: Deferred<IteratorResult<StreamEvent>> | undefined;
    let ended = false;
    let closed = false;
    const it: AsyncIterator<StreamEvent> & { push(e: StreamEvent): void; end(): void; closed(): boolean } = {
      next() {
        if (events.length) return Promise.resolve({ done: false, value: events.shift()! });
        if (ended) return Promise.resolve({ done: true, value: undefined });
        waiting = deferred();
        return waiting.promise;
      },
      return() {
        closed = true;
        return Promise.resolve({ done: true, value: undefined });
      },
      push(e) {
        if (waiting) {
          const w = waiting;
          waiting = undefined;
          w.resolve({ done: false, value: e });
        } else events.push(e);
      },
      end() {
        ended = true;
        waiting?.resolve({ done: true, value: undefined });
      },
      closed: () => closed,
    };
    signal.addEventListener("abort", () => waiting?.reject(new Error("aborted")));
    return it;
  }

  it("the first token wins; the winner replays what it sent before and continues", async () => {
    const clock = createFakeClock();
    const { h, ended } = host(clock, ["b"]);
    const streams: Record<string, ReturnType<typeof manualStream>> = {};
    const p = raceStream(spec({ mode: "first_wins" }), h, firstLeg(clock), fakeContext({ stream: true }), (c, signal) => ({
      [Symbol.asyncIterator]: () => (streams[c] = manualStream(signal)),
    }));
    await flush();
    // "first" sends its id (no content yet); "b" sends a token: b wins.
    streams.first!.push({ id: "x", model: "m" });
    streams.b!.push({ id: "y", model: "m" });
    streams.b!.push({ delta: "Hel" });
    const won = await p;
    expect(won.leg.candidate).toBe("b");
    streams.b!.push({ delta: "lo" });
    streams.b!.end();
    const got: StreamEvent[] = [];
    for (let n = await won.result.next(); !n.done; n = await won.result.next()) got.push(n.value);
    expect(got).toEqual([{ id: "y", model: "m" }, { delta: "Hel" }, { delta: "lo" }]);
    await flush();
    expect(ended.map(([c, o]) => [c, o.canceled])).toEqual([["first", true]]);
    expect(streams.first!.closed()).toBe(true);
  });

  it("hedged: a second stream starts when the first has no token within the delay", async () => {
    const clock = createFakeClock();
    const { h, started } = host(clock, ["b"]);
    const streams: Record<string, ReturnType<typeof manualStream>> = {};
    const p = raceStream(spec({ delay: 200 }), h, firstLeg(clock), fakeContext({ stream: true }), (c, signal) => ({
      [Symbol.asyncIterator]: () => (streams[c] = manualStream(signal)),
    }));
    clock.advance(200);
    expect(started).toEqual(["b"]);
    await flush();
    streams.first!.push({ delta: "late but first" });
    const won = await p;
    expect(won.leg.candidate).toBe("first");
  });
});

describe("reserved legs (shared limits: startLeg answers with a promise)", () => {
  /** A host whose legs are granted when the test says so; `wanted` is read at each grant. */
  function reservingHost(clock: FakeClock, available: string[]) {
    const queue = [...available];
    const grants: { c: string; grant: (ok: boolean) => void }[] = [];
    const started: string[] = [];
    const released: string[] = [];
    const ended: string[] = [];
    const h: RaceHost<string> = {
      clock,
      view: (c) => fakeView(c, { samples: 100, latencies: [100, 200, 300] }),
      startLeg(wanted) {
        const c = queue.shift();
        if (!c) return undefined;
        const d = deferred<boolean>();
        grants.push({ c, grant: d.resolve });
        return d.promise.then((ok) => {
          if (!ok) return undefined;
          if (!wanted()) {
            released.push(c);
            return undefined;
          }
          started.push(c);
          return { candidate: c, attempt: { signal: new AbortController().signal }, started: clock.now() };
        });
      },
      endLeg: (leg) => void ended.push(leg.candidate),
    };
    return { h, grants, started, released, ended };
  }
  const pending = (calls: Map<string, Deferred<ChatResult>>) => (c: string) => {
    const d = deferred<ChatResult>();
    calls.set(c, d);
    return d.promise;
  };

  it("first_wins: legs start one after another as granted; a refused one is skipped for the next", async () => {
    const clock = createFakeClock();
    const { h, grants, started } = reservingHost(clock, ["b", "c", "d"]);
    const calls = new Map<string, Deferred<ChatResult>>();
    const p = raceChat(spec({ mode: "first_wins", fanout: 3 }), h, firstLeg(clock), fakeContext(), pending(calls));
    // One reservation at a time: the next leg is asked for only after this one is settled.
    expect(grants.map((g) => g.c)).toEqual(["b"]);
    grants[0]!.grant(false);
    await flush();
    expect(started).toEqual([]);
    // A refusal ends the chain here (the host chooses again itself); the race goes on with the first leg.
    calls.get("first")!.resolve(result("first"));
    expect((await p).leg.candidate).toBe("first");
  });

  it("a leg granted after the race was decided is given back and never called", async () => {
    const clock = createFakeClock();
    const { h, grants, started, released } = reservingHost(clock, ["b"]);
    const calls = new Map<string, Deferred<ChatResult>>();
    const p = raceChat(spec({ mode: "first_wins", fanout: 2 }), h, firstLeg(clock), fakeContext(), pending(calls));
    calls.get("first")!.resolve(result("first"));
    expect((await p).leg.candidate).toBe("first");
    grants[0]!.grant(true);
    await flush();
    expect(released).toEqual(["b"]);
    expect(started).toEqual([]);
    expect(calls.has("b")).toBe(false);
  });

  it("a granted leg races: it can win, and the first leg is ended as lost", async () => {
    const clock = createFakeClock();
    const { h, grants, started, ended } = reservingHost(clock, ["b"]);
    const calls = new Map<string, Deferred<ChatResult>>();
    const p = raceChat(spec({ mode: "first_wins", fanout: 2 }), h, firstLeg(clock), fakeContext(), (c, signal) => {
      const d = deferred<ChatResult>();
      signal.addEventListener("abort", () => d.reject(new ProviderError({ provider: c, kind: "canceled", message: "aborted" })));
      calls.set(c, d);
      return d.promise;
    });
    grants[0]!.grant(true);
    await flush();
    expect(started).toEqual(["b"]);
    calls.get("b")!.resolve(result("from b"));
    expect((await p).leg.candidate).toBe("b");
    await flush();
    expect(ended).toEqual(["first"]);
  });

  it("hedged: the hedge is reserved when its delay passes; a refusal refunds the hedge budget", async () => {
    const clock = createFakeClock();
    const { h, grants } = reservingHost(clock, ["b", "c"]);
    const budget = createHedgeBudget(1);
    const s = { ...spec({ mode: "hedged", delay: 100 }), budget };
    const calls = new Map<string, Deferred<ChatResult>>();
    const p = raceChat(s, h, firstLeg(clock), fakeContext(), pending(calls));
    expect(grants).toHaveLength(0);
    clock.advance(100);
    expect(grants.map((g) => g.c)).toEqual(["b"]);
    const spent = budget.tokens;
    grants[0]!.grant(false);
    await flush();
    // Refunded: the hedge that was not started cost nothing.
    expect(budget.tokens).toBe(spent + 1);
    calls.get("first")!.resolve(result("first"));
    expect((await p).leg.candidate).toBe("first");
  });
});
