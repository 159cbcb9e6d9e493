import { describe, expect, it } from "vitest";
import { makeEndpoint } from "../../test/helpers/endpoints.js";
import { createFakeClock, systemClock } from "../util/clock.js";
import { warmupEndpoints } from "./warmup.js";

describe("warmupEndpoints", () => {
  it("warms `concurrency` providers at a time and reports failures", async () => {
    let running = 0;
    let peak = 0;
    const warm = (fail = false) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (fail) throw new Error("refused");
    };
    const eps = ["a", "b", "c", "d", "e"].map((n) => makeEndpoint(n, systemClock, {}, { warmup: warm(n === "c") }));
    eps.push(makeEndpoint("nowarm", systemClock));
    const r = await warmupEndpoints(eps, { concurrency: 2, timeoutMs: 5000, clock: systemClock });
    expect(peak).toBe(2);
    expect(r.warmed.sort()).toEqual(["a", "b", "d", "e"]);
    expect(r.failed).toEqual(["c"]);
  });

  it("gives up at timeoutMs", async () => {
    const clock = createFakeClock();
    const hang = (signal: AbortSignal) => new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    const eps = [makeEndpoint("a", clock, {}, { warmup: hang }), makeEndpoint("b", clock, {}, { warmup: hang })];
    const p = warmupEndpoints(eps, { concurrency: 1, timeoutMs: 300, clock });
    clock.advance(300);
    const r = await p;
    expect(r.failed).toEqual(["a"]);
    expect(r.warmed).toEqual([]);
  });
});
