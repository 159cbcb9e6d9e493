import { describe, expect, it, vi } from "vitest";
import { systemClock } from "../util/clock.js";
import { Breaker } from "./breaker.js";
import { validateConfig } from "../config/load.js";
import { makeEndpoint } from "../../test/helpers/endpoints.js";
import { type UpstreamCall } from "../core/provider.js";
import { ProviderError } from "../core/errors.js";
import { ProviderState } from "../../gen/llmpool/v1/llmpool_pb.js";
import { createFakeClock } from "../util/clock.js";
import { HealthMonitor } from "./monitor.js";

const poolConfig = (o: Record<string, unknown> = {}) =>
  validateConfig({ pool: { health_check_interval_s: 10, health_check: { unhealthy_threshold: 2, healthy_threshold: 2, timeout_ms: 500 }, ...o }, providers: [{ name: "x", type: "mock", models: ["m"] }] }, "t", {}).config.pool;

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("HealthMonitor", () => {
  it("probes every interval, takes a failing provider out after unhealthy_threshold, back after healthy_threshold", async () => {
    const clock = createFakeClock();
    let failing = true;
    let probes = 0;
    const e = makeEndpoint("p", clock, {}, {
      probe: async () => {
        probes++;
        if (failing) throw new ProviderError({ provider: "p", kind: "connect", message: "ECONNREFUSED" });
      },
    });
    const m = new HealthMonitor({ endpoints: () => [e], config: () => poolConfig(), clock, random: () => 0.5 });
    for (const x of [e]) x.watchedBy([m]);
    m.start();
    clock.advance(0);
    await flush();
    expect(probes).toBe(1);
    expect(e.healthy).toBe(true); // one failure is not enough
    expect(e.state).toBe(ProviderState.DEGRADED);
    clock.advance(10_000);
    await flush();
    expect(probes).toBe(2);
    expect(e.healthy).toBe(false);
    expect(e.state).toBe(ProviderState.UNHEALTHY);
    expect(e.lastError).toBe("health check: connect: ECONNREFUSED");
    expect(e.unavailableReason).toBe("failing health checks; last error: health check: connect: ECONNREFUSED");
    failing = false;
    clock.advance(10_000);
    await flush();
    expect(e.healthy).toBe(false);
    clock.advance(10_000);
    await flush();
    expect(e.healthy).toBe(true);
    expect(e.state).toBe(ProviderState.HEALTHY);
    m.stop();
    clock.advance(100_000);
    await flush();
    expect(probes).toBe(4);
  });

  it("times a probe out after health_check.timeout_ms", async () => {
    const clock = createFakeClock();
    const e = makeEndpoint("p", clock, {}, {
      probe: (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    });
    const m = new HealthMonitor({ endpoints: () => [e], config: () => poolConfig({ health_check: { unhealthy_threshold: 1, timeout_ms: 500 } }), clock });
    for (const x of [e]) x.watchedBy([m]);
    const round = m.checkNow();
    clock.advance(500);
    await round;
    expect(e.healthy).toBe(false);
    expect(m.stateOf(e).error).toBe("timeout: health check took over 500 ms");
  });

  it("counts an upstream that answers 429 or 404 as up, and uses a one-token chat when asked", async () => {
    const clock = createFakeClock();
    const calls: UpstreamCall[] = [];
    const limited = makeEndpoint("a", clock, {}, {
      probe: async () => {
        throw new ProviderError({ provider: "a", kind: "rate_limited", status: 429, message: "slow down" });
      },
    });
    const chatty = makeEndpoint("b", clock, { models: { pub: "upstream-model" }, health_check: { probe: "chat" } }, {
      probe: async () => {
        throw new Error("not used");
      },
      chat: async (call) => {
        calls.push(call);
        return { id: "", model: "", content: "", toolCalls: [], finishReason: "stop", rawFinishReason: "stop" };
      },
    });
    const off = makeEndpoint("c", clock, { health_check: { enabled: false } }, {
      probe: async () => {
        throw new ProviderError({ provider: "c", kind: "connect", message: "down" });
      },
    });
    const m = new HealthMonitor({ endpoints: () => [limited, chatty, off], config: () => poolConfig({ health_check: { unhealthy_threshold: 1 } }), clock });
    for (const x of [limited, chatty, off]) x.watchedBy([m]);
    await m.checkNow();
    expect([limited.healthy, chatty.healthy, off.healthy]).toEqual([true, true, true]);
    expect(m.stateOf(off).runs).toBe(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.model).toBe("upstream-model");
    expect(calls[0]!.request.maxTokens).toBe(1);
  });
});

describe("HealthMonitor and the breaker", () => {
  it("a passing probe is the half-open trial: the breaker closes with no request", async () => {
    vi.useFakeTimers();
    try {
      const clock = createFakeClock();
      const e = makeEndpoint("p", clock, {}, { probe: async () => undefined });
      const breaker = new Breaker("p", e.config.circuit_breaker, systemClock);
      for (let i = 0; i < e.config.circuit_breaker.failure_threshold; i++) breaker.record(breaker.onStart(), "failure");
      await vi.advanceTimersByTimeAsync(e.config.circuit_breaker.reset_timeout_ms);
      expect(breaker.state).toBe("half_open");
      const m = new HealthMonitor({ endpoints: () => [e], config: () => poolConfig(), clock, onProbePassed: () => breaker.probePassed() });
      await m.checkNow();
      expect(breaker.state).toBe("closed");
      breaker.shutdown();
    } finally {
      vi.useRealTimers();
    }
  });
});
