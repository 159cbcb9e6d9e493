import { describe, expect, it } from "vitest";
import { createFakeClock } from "../util/clock.js";
import { attemptSignal } from "./attempt-signal.js";
import { ProviderError } from "./errors.js";

describe("attemptSignal", () => {
  it("aborts on the attempt timeout, on the caller, or when told (a stall)", () => {
    const clock = createFakeClock();
    const parent = new AbortController();
    const a = attemptSignal(parent.signal, 1000, "p", clock);
    clock.advance(1000);
    expect((a.signal.reason as ProviderError).message).toBe("no answer within timeout_ms (1000 ms)");
    const b = attemptSignal(parent.signal, 1000, "p", clock);
    b.clearTimeout();
    clock.advance(5000);
    expect(b.signal.aborted).toBe(false);
    b.abort(new ProviderError({ provider: "p", kind: "timeout", message: "stalled" }));
    expect((b.signal.reason as ProviderError).message).toBe("stalled");
    const c = attemptSignal(parent.signal, 1000, "p", clock);
    parent.abort("gone");
    expect(c.signal.reason).toBe("gone");
    c.done();
  });
});
