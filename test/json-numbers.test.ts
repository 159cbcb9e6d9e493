/**
 * Numbers in responses, stats and logs read as numbers a person would write: latencies to
 * 0.1 ms, costs exact but without float noise (3e-7, not 3.0000000000000004e-7).
 */
import { describe, expect, it } from "vitest";
import { costOf } from "../src/cost/pricing.js";
import { roundMs, roundUsd } from "../src/core/round.js";
import { harness } from "./helpers/harness.js";
import { user } from "./helpers/server.js";

const h = harness();
const tidyMs = (v: number) => expect(String(v)).toMatch(/^\d+(\.\d)?$/);
const tidyUsd = (v: number) => expect(String(v).length, String(v)).toBeLessThanOrEqual(16);

describe("JSON numbers", () => {
  it("round helpers: 0.1 ms and 1e-12 USD, short decimals", () => {
    expect(roundMs(600.4992010000005)).toBe(600.5);
    expect(roundUsd(0.0000031000000000000004)).toBe(0.0000031);
    expect(String(roundUsd(0.1 + 0.2))).toBe("0.3");
    expect(roundUsd(12_345.678901234567)).toBe(12_345.6789012346);
    expect(costOf({ inputPer1m: 0.1, outputPer1m: 0.2, cachedInputPer1m: 0 }, { promptTokens: 1, completionTokens: 1, cachedTokens: 0 })).toBe(3e-7);
  });

  it("responses, stream ends and stats carry tidy latencies and costs", async () => {
    const s = await h.serve({
      providers: [{ name: "m", type: "mock", models: ["mock"], mock: { latency_ms: 1, jitter_ms: 3, chunk_delay_ms: 0 }, pricing: { input_per_1m: 0.1, output_per_1m: 0.3 } }],
    });
    for (let i = 0; i < 5; i++) {
      const res = await s.connect.chat({ messages: [user(`hello number ${i} with a few words`)] });
      expect(res.costUsd).toBeGreaterThan(0);
      tidyMs(res.latencyMs);
      tidyUsd(res.costUsd);
    }
    let last: { latencyMs: number; costUsd: number; ttftMs: number } | undefined;
    for await (const c of s.connect.streamChat({ messages: [user("stream please")] })) if (c.finishReason) last = c;
    tidyMs(last!.latencyMs);
    tidyMs(last!.ttftMs);
    tidyUsd(last!.costUsd);
    const stats = await s.connect.getPoolStats({});
    const p = stats.providers[0]!;
    tidyUsd(p.costUsd);
    tidyUsd(stats.totals!.costUsd);
    for (const v of [p.latency!.ewmaMs, p.latency!.p50Ms, p.latency!.p95Ms, p.latency!.p99Ms]) tidyMs(v);
  });
});
