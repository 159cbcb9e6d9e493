import { describe, expect, it } from "vitest";
import { makeEndpoint } from "../../test/helpers/endpoints.js";
import { createFakeClock } from "../util/clock.js";
import { ChunkGaps } from "./chunk-gaps.js";

describe("ChunkGaps", () => {
  it("stall threshold: k × the provider's mean chunk gap, within [min, max]", () => {
    const clock = createFakeClock();
    const e = makeEndpoint("p", clock);
    const s = { on_break: "resume" as const, resume: true, stall_factor: 10, stall_min_ms: 500, stall_max_ms: 5000 };
    const gaps = new ChunkGaps<typeof e>();
    const stallThreshold = gaps.stallThreshold.bind(gaps);
    const other = makeEndpoint("q", clock);
    expect(stallThreshold(e, s)).toBe(5000); // no history yet
    gaps.record(e, 20);
    expect(stallThreshold(e, s)).toBe(500);
    for (let i = 0; i < 100; i++) gaps.record(e, 200);
    expect(stallThreshold(e, s)).toBeCloseTo(2000, 0);
    for (let i = 0; i < 100; i++) gaps.record(e, 2000);
    expect(stallThreshold(e, s)).toBe(5000);
    expect(gaps.meanGap(other)).toBe(0); // each endpoint its own history
  });
});
