import { describe, expect, it } from "vitest";
import { codePoints } from "./stream-resume.js";

describe("codePoints", () => {
  it("counts offsets in Unicode code points", () => {
    expect(codePoints("abc")).toBe(3);
    expect(codePoints("héllo")).toBe(5);
    expect(codePoints("a😀b")).toBe(3);
  });
});
