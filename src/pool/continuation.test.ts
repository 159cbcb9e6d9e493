import { describe, expect, it } from "vitest";
import { Continuation } from "./continuation.js";

const DELIVERED = "The quick brown fox ";

describe("Continuation", () => {
  it("passes a real continuation through at once", () => {
    const c = new Continuation(DELIVERED);
    expect(c.push("jumps")).toEqual({ kind: "continue", text: "jumps" });
  });

  it("drops a repeat of the delivered text and keeps what follows", () => {
    const c = new Continuation(DELIVERED);
    expect(c.push("The quick ")).toEqual({ kind: "holding" });
    expect(c.push("brown ")).toEqual({ kind: "holding" });
    expect(c.push("fox jumps.")).toEqual({ kind: "continue", text: "jumps." });
  });

  it("a continuation that matches a few characters by chance is not a repeat", () => {
    const c = new Continuation(DELIVERED);
    expect(c.push("The")).toEqual({ kind: "holding" });
    expect(c.push(" end.")).toEqual({ kind: "continue", text: "The end." });
  });

  it("a repeat that diverges cannot be spliced: restart with what it said", () => {
    const c = new Continuation(DELIVERED);
    expect(c.push("The quick brown ")).toEqual({ kind: "holding" });
    expect(c.push("cat sleeps.")).toEqual({ kind: "restart", text: "The quick brown cat sleeps." });
  });

  it("a continuation that ends while repeating is a new, shorter answer", () => {
    const c = new Continuation(DELIVERED);
    expect(c.push("The quick brown fo")).toEqual({ kind: "holding" });
    expect(c.end()).toEqual({ kind: "restart", text: "The quick brown fo" });
    expect(new Continuation(DELIVERED).end()).toBeUndefined();
  });
});
