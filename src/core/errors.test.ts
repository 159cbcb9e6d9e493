import { describe, expect, it } from "vitest";
import { registerSecret } from "../util/redact.js";
import { ProviderError } from "./errors.js";

describe("ProviderError.from", () => {
  it("passes a ProviderError through unchanged", () => {
    const pe = new ProviderError({ provider: "a", kind: "timeout", message: "slow" });
    expect(ProviderError.from(pe, "b")).toBe(pe);
  });

  it("turns anything else into a server failure of the given provider, redacted", () => {
    registerSecret("secret-key-1234");
    const pe = ProviderError.from(new Error("upstream said: bad key secret-key-1234"), "openai-a");
    expect(pe).toBeInstanceOf(ProviderError);
    expect(pe.provider).toBe("openai-a");
    expect(pe.kind).toBe("server");
    expect(pe.retryable).toBe(true);
    expect(pe.message).not.toContain("secret-key-1234");
    expect(pe.message).toContain("[REDACTED]");
    // Not an Error at all (a thrown string or object): still a message, still redacted.
    expect(ProviderError.from("sk-proj-abcdefghijklmnop", "x").message).toBe("[REDACTED]");
  });
});
