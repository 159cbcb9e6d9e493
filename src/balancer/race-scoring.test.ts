import type { Cancel } from "../util/cancel.js";
import { describe, expect, it } from "vitest";
import type { ChatResult, StreamEvent } from "../core/provider.js";
import { ProviderError } from "../core/errors.js";
import { createFakeClock, type FakeClock } from "../util/clock.js";
import { fakeContext, fakeView, type FakeView } from "../../test/helpers/fake-endpoint.js";
import { raceChat, raceStream, type LegOutcome, type RaceHost } from "./race-runner.js";
import { bestAnswer, longestComplete, registerAnswerScorer, weightedScore, type RaceAnswer } from "./race-scoring.js";
import { createRacing, racingOptions } from "./racing-strategy.js";
import { createStrategy, DEFAULT_STRATEGY_OPTIONS } from "./registry.js";

const flush = () => new Promise((r) => setImmediate(r));
const answer = (content: string, finishReason: "stop" | "length" = "stop"): ChatResult => ({
  id: content,
  model: "m",
  content,
  toolCalls: [],
  finishReason,
  rawFinishReason: finishReason,
});

/** A host whose candidates answer after a fixed delay on the fake clock (or fail). */
function timedHost(clock: FakeClock, legs: Record<string, { after: number; result?: ChatResult; view?: Partial<FakeView> }>) {
  const names = Object.keys(legs);
  const queue = names.slice(1);
  const ended: [string, LegOutcome][] = [];
  const decided: [string[], string][] = [];
  const views = new Map(names.map((n) => [n, fakeView(n, legs[n]!.view)]));
  const h: RaceHost<string> = {
    clock,
    view: (c) => views.get(c)!,
    startLeg() {
      const c = queue.shift();
      return c === undefined ? undefined : { candidate: c, attempt: { signal: new AbortController().signal }, started: clock.now() };
    },
    endLeg: (leg, o) => void ended.push([leg.candidate, o]),
    decided: (entrants, winner) => void decided.push([[...entrants], winner]),
  };
  const call = (c: string, signal: Cancel) =>
    new Promise<ChatResult>((resolve, reject) => {
      const cancel = clock.setTimeout(() => {
        const r = legs[c]!.result;
        if (r) resolve(r);
        else reject(new ProviderError({ provider: c, kind: "server", status: 500, message: "boom" }));
      }, legs[c]!.after);
      signal.addEventListener("abort", () => {
        cancel();
        reject(new ProviderError({ provider: c, kind: "canceled", message: "aborted" }));
      });
    });
  const first = { candidate: names[0]!, attempt: { signal: new AbortController().signal }, started: clock.now() };
  return { h, ended, decided, call, first };
}

const racing = (o: Record<string, unknown>) => createRacing(racingOptions.parse(o), (n) => createStrategy(n, DEFAULT_STRATEGY_OPTIONS));

describe("weighted racing", () => {
  it("waits the grace window after the first answer and picks the steadier member", async () => {
    const clock = createFakeClock();
    const s = racing({ mode: "weighted", fanout: 3, grace_period_ms: 100 });
    const { h, ended, decided, call, first } = timedHost(clock, {
      // Fastest now, but fails half the time and is usually slow.
      flaky: { after: 50, result: answer("flaky"), view: { samples: 50, ewmaLatencyMs: 400, errorRate: 0.5 } },
      steady: { after: 120, result: answer("steady"), view: { samples: 50, ewmaLatencyMs: 120, errorRate: 0 } },
      // Answers after the window closes (50 + 100): aborted as lost.
      late: { after: 400, result: answer("late"), view: { samples: 50, ewmaLatencyMs: 10, errorRate: 0 } },
    });
    const p = raceChat(s.race!, h, first, fakeContext(), call);
    clock.advance(50);
    await flush();
    clock.advance(70);
    await flush();
    let settled = false;
    void p.then(() => (settled = true));
    await flush();
    expect(settled).toBe(false); // still inside the window
    clock.advance(30);
    const won = await p;
    expect(won.leg.candidate).toBe("steady");
    await flush();
    const byName = Object.fromEntries(ended);
    // The flaky answer arrived in the window: a real sample of 50 ms.
    expect(byName.flaky).toMatchObject({ ok: true, latencyMs: 50, canceled: false });
    // The late leg was aborted: a censored sample, not counted.
    expect(byName.late).toMatchObject({ ok: false, canceled: true });
    expect(decided).toEqual([[["flaky", "steady", "late"], "steady"]]);
  });

  it("decides at once when every leg has answered or failed before the window closes", async () => {
    const clock = createFakeClock();
    const s = racing({ mode: "weighted", fanout: 2, grace_period_ms: 10_000 });
    const { h, call, first } = timedHost(clock, {
      a: { after: 30, result: answer("a") },
      b: { after: 40 },
    });
    const p = raceChat(s.race!, h, first, fakeContext(), call);
    clock.advance(30);
    await flush();
    clock.advance(10);
    expect((await p).leg.candidate).toBe("a");
  });

  it("scores speed against history", () => {
    const v = fakeView("x", { samples: 10, ewmaLatencyMs: 300, errorRate: 0.5 });
    const a: RaceAnswer = { view: v, latencyMs: 100, content: "", toolCalls: 0 };
    expect(weightedScore(a, 0.5, false)).toBe((0.5 * 100 + 0.5 * 300) / 0.5);
    expect(weightedScore({ ...a, view: fakeView("new") }, 0.5, false)).toBe(100);
  });
});

describe("weighted racing, streams", () => {
  it("holds legs at their first token until the window closes; the winner's time to first token is its own", async () => {
    const clock = createFakeClock();
    const s = racing({ mode: "weighted", fanout: 3, grace_period_ms: 100 });
    const { h, ended, first } = timedHost(clock, {
      flaky: { after: 10, view: { samples: 50, ewmaTtftMs: 500, errorRate: 0.9 } },
      steady: { after: 30, view: { samples: 50, ewmaTtftMs: 30 } },
      silent: { after: 1e9 },
    });
    const delays: Record<string, number> = { flaky: 10, steady: 30, silent: 1e9 };
    const p = raceStream(s.race!, h, first, fakeContext({ stream: true }), async function* (c, signal) {
      await new Promise<void>((resolve, reject) => {
        const cancel = clock.setTimeout(resolve, delays[c]!);
        signal.addEventListener("abort", () => (cancel(), reject(new ProviderError({ provider: c, kind: "canceled", message: "aborted" }))));
      });
      yield { delta: `from ${c}` };
      yield { finishReason: "stop" };
    });
    for (const t of [10, 20, 50, 30]) {
      clock.advance(t);
      await flush();
    }
    const won = await p;
    expect(won.leg.candidate).toBe("steady");
    expect(won.ttftMs).toBe(30); // decided at 110 ms
    expect((await won.result.next()).value).toEqual({ delta: "from steady" });
    await flush();
    expect(Object.fromEntries(ended)).toMatchObject({ flaky: { ok: true, latencyMs: 10 }, silent: { ok: false, canceled: true } });
  });
});

describe("quality racing", () => {
  it("picks the longest complete answer within the window, not the first", async () => {
    const clock = createFakeClock();
    const s = racing({ mode: "quality", fanout: 3, grace_period_ms: 500 });
    const { h, decided, call, first } = timedHost(clock, {
      short: { after: 10, result: answer("ok") },
      cut: { after: 20, result: answer("a much longer answer that was cut off", "length") },
      full: { after: 300, result: answer("a complete, longer answer") },
    });
    const p = raceChat(s.race!, h, first, fakeContext(), call);
    for (const t of [10, 10, 280]) {
      clock.advance(t);
      await flush();
    }
    const won = await p;
    expect(won.result.content).toBe("a complete, longer answer");
    expect(decided[0]![1]).toBe("full");
  });

  it("uses a registered scorer named in the config, and rejects unknown ones naming the key", async () => {
    registerAnswerScorer("shortest", (a) => -a.content.length);
    const clock = createFakeClock();
    const s = racing({ mode: "quality", scorer: "shortest", grace_period_ms: 100 });
    const { h, call, first } = timedHost(clock, { long: { after: 10, result: answer("longer") }, short: { after: 20, result: answer("s") } });
    const p = raceChat(s.race!, h, first, fakeContext(), call);
    clock.advance(10);
    await flush();
    clock.advance(10);
    expect((await p).result.content).toBe("s");
    const bad = racingOptions.safeParse({ mode: "quality", scorer: "nope" });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(["scorer"]);
    expect(bad.error!.issues[0]!.message).toMatch(/unknown scorer "nope".*longest_complete/);
    expect(racingOptions.safeParse({ mode: "fastest_wins" }).error!.issues[0]!.message).toMatch(/unknown mode "fastest_wins"/);
    expect(racingOptions.safeParse({ grace_period_ms: -1 }).error!.issues[0]!.path).toEqual(["grace_period_ms"]);
  });

  it("streams: buffers each leg to its end and replays the chosen one", async () => {
    const clock = createFakeClock();
    const s = racing({ mode: "quality", grace_period_ms: 1000 });
    const streams: Record<string, StreamEvent[]> = {
      a: [{ delta: "hi" }, { finishReason: "stop" }],
      b: [{ delta: "hello " }, { delta: "there" }, { finishReason: "stop" }],
    };
    const { h, first } = timedHost(clock, { a: { after: 0 }, b: { after: 0 } });
    const won = await raceStream(s.race!, h, first, fakeContext({ stream: true }), async function* (c) {
      yield* streams[c]!;
    });
    expect(won.leg.candidate).toBe("b");
    const got: StreamEvent[] = [];
    for (let n = await won.result.next(); !n.done; n = await won.result.next()) got.push(n.value);
    expect(got).toEqual(streams.b);
  });

  it("longest_complete ranks a truncated answer below any complete one", () => {
    const v = fakeView("x");
    const answers: RaceAnswer[] = [
      { view: v, latencyMs: 1, content: "x".repeat(100), finishReason: "length", toolCalls: 0 },
      { view: v, latencyMs: 2, content: "yy", finishReason: "stop", toolCalls: 0 },
    ];
    expect(bestAnswer(answers, longestComplete, false)).toBe(1);
  });
});
