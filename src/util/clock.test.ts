import { describe, expect, it } from "vitest";
import { createFakeClock, delay } from "./clock.js";

describe("delay", () => {
  it("delay resolves after ms or rejects when aborted", async () => {
    const clock = createFakeClock();
    const ac = new AbortController();
    const p = delay(100, ac.signal, clock);
    clock.advance(100);
    await expect(p).resolves.toBeUndefined();
    const q = delay(100, ac.signal, clock);
    ac.abort("bye");
    await expect(q).rejects.toBe("bye");
  });
});
