import { describe, expect, it } from "vitest";
import { validateConfig } from "../config/load.js";
import { ProviderError } from "../core/errors.js";
import { createFakeClock } from "../util/clock.js";
import { buildEndpoints } from "./build.js";

function endpoint() {
  const clock = createFakeClock(1000);
  const { config } = validateConfig({ providers: [{ name: "a", type: "mock", models: ["m"] }] }, "t", {});
  return { e: buildEndpoints(config, clock)[0]!, clock };
}

describe("endpoint state strategies read", () => {
  it("tracks the mean age of calls in flight", () => {
    const { e, clock } = endpoint();
    expect(e.inFlightAgeMs(clock.now())).toBe(0);
    e.onCallStarted("first");
    clock.advance(100);
    e.onCallStarted("first");
    clock.advance(200);
    expect(e.inFlightAgeMs(clock.now())).toBe(250);
    // The older call (300 ms) ends: the younger one is left.
    e.onCallEnded({ ok: true, latencyMs: 300 });
    expect(e.inFlightAgeMs(clock.now())).toBe(200);
    e.onCallEnded({ ok: false, latencyMs: 200, canceled: true });
    expect(e.inFlightAgeMs(clock.now())).toBe(0);
  });

  it("records when it last failed", () => {
    const { e, clock } = endpoint();
    e.onCallStarted("first");
    clock.advance(50);
    e.onCallEnded({ ok: false, latencyMs: 50, error: new ProviderError({ provider: "a", kind: "server", message: "x" }) });
    expect([e.lastFailedAt, e.lastCompletedAt]).toEqual([1050, 1050]);
  });
});
