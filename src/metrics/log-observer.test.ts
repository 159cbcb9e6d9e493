import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { EndpointView, PickContext, Strategy } from "../balancer/strategy.js";
import type { RequestRecord } from "../core/outcome.js";
import { registerSecret } from "../util/redact.js";
import { createLogger, redactFields } from "../util/logger.js";
import { createLogObserver } from "./log-observer.js";

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, observer: createLogObserver(createLogger(level, sink)) };
}

const view = (name: string, ewma: number): EndpointView => ({
  name,
  type: "mock",
  weight: 2,
  priority: 1,
  inFlight: 3,
  maxConcurrency: 0,
  ewmaLatencyMs: ewma,
  ewmaTtftMs: ewma / 4,
  errorRate: 0.125,
  samples: 10,
  lastFailedAt: 0,
  inFlightAgeMs: () => 0,
  pricing: { inputPer1m: 0, outputPer1m: 0, cachedInputPer1m: 0 },
  lastCompletedAt: 0,
  latencyPercentile: () => undefined,
});

const record: RequestRecord = {
  requestId: "r-1",
  kind: "chat",
  model: "m",
  tenant: "acme",
  startedAt: 0,
  provider: "b",
  attempts: 1,
  upstreamCalls: 1,
  providersTried: ["b"],
  retries: 0,
  fallbacks: 0,
  costUsd: 0.000123,
  latencyMs: 12.3456,
  usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 0, estimated: false },
  finishReason: "stop",
};

const scoring: Strategy = {
  name: "fastest",
  pick: (c) => c[0],
  scores: (c) => c.map((v) => v.ewmaLatencyMs / 1000),
};
const ctx = { attempt: 2, stream: false } as PickContext;

describe("log observer", () => {
  it("logs each selection with every candidate's score at debug level only", () => {
    const debug = capture("debug");
    debug.observer.picked!(record, [view("a", 250), view("b", 125)], view("b", 125), scoring, ctx);
    expect(debug.lines).toEqual([
      expect.objectContaining({
        level: "debug",
        msg: "selection",
        request_id: "r-1",
        strategy: "fastest",
        attempt: 2,
        chosen: "b",
        candidates: [
          { provider: "a", score: 0.25, in_flight: 3, ewma_ms: 250, error_rate: 0.125, weight: 2, priority: 1 },
          { provider: "b", score: 0.125, in_flight: 3, ewma_ms: 125, error_rate: 0.125, weight: 2, priority: 1 },
        ],
      }),
    ]);
    const info = capture("info");
    info.observer.picked!(record, [view("a", 250)], view("a", 250), scoring, ctx);
    expect(info.lines).toEqual([]);
    // A strategy without scores (or one whose scoring throws) logs null scores.
    debug.observer.picked!(record, [view("a", 1)], view("a", 1), { name: "rr", pick: (c) => c[0], scores: () => { throw new Error("bug"); } }, ctx);
    expect((debug.lines[1]!.candidates as { score: unknown }[])[0]!.score).toBeNull();
  });

  it("writes one line per request, warn when it failed", () => {
    const { lines, observer } = capture("info");
    observer.requestEnded!(record);
    expect(lines[0]).toMatchObject({ level: "info", msg: "request", request_id: "r-1", tenant: "acme", provider: "b", latency_ms: 12.3, cost_usd: 0.000123, outcome: "ok" });
  });
});

describe("logger redaction", () => {
  it("redacts registered secrets and key shapes in every string field, nested too", () => {
    registerSecret("hunter2-very-secret");
    const out = redactFields({ a: "x hunter2-very-secret y", n: 1, list: ["sk-proj-abcdefghijkl"], deep: { err: new Error("bad key sk-abcdefghijklmnop") } });
    expect(out).toEqual({ a: "x [REDACTED] y", n: 1, list: ["[REDACTED]"], deep: { err: expect.objectContaining({ message: "bad key [REDACTED]" }) } });
    const same = { a: "nothing to hide" };
    expect(redactFields(same)).toBe(same); // no copy when nothing changed
  });
});
