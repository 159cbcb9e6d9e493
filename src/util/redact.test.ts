import { describe, expect, it } from "vitest";
import { validateConfig } from "../config/load.js";
import { redact, redactAndTruncate, registerHeaderSecrets, registerSecret, registerUrlSecrets } from "./redact.js";

describe("redact", () => {
  it("hides key shapes glued to other text (no word-boundary gap)", () => {
    for (const key of ["sk-proj-abcdefgh12345678", "sk-ant-api03-abcdefgh1234", "AKIAABCDEFGHIJKLMNOP", "ASIAABCDEFGHIJKLMNOP"]) {
      expect(redact(`key=abc${key} end`)).toBe("key=abc[REDACTED] end");
      expect(redact(`_${key}`)).toBe("_[REDACTED]");
    }
    expect(redact("authorization: Bearer some.opaque-token_123")).toBe("authorization: Bearer [REDACTED]");
  });

  it("registers header values (and the token of a scheme value), not protocol settings", () => {
    registerHeaderSecrets({ "x-secret": "hv-4e1c2b9f", authorization: "Token tv-8a7b6c5d", "content-type": "application/json" });
    expect(redact("got hv-4e1c2b9f and tv-8a7b6c5d")).toBe("got [REDACTED] and [REDACTED]");
    expect(redact("application/json")).toBe("application/json");
  });

  it("registers URL passwords and key-bearing query parameters", () => {
    registerUrlSecrets("https://bob:pw-19c2e8f7@h.example/v1?key=qk-77d3a1e0&region=eu");
    expect(redact("https://bob:pw-19c2e8f7@h.example/v1?key=qk-77d3a1e0&region=eu")).toBe("https://[REDACTED]@h.example/v1?key=[REDACTED]&region=eu");
  });

  it("redacts before cutting: no prefix of a key survives the cut", () => {
    registerSecret("cutkey-abcdefghijklmnopqrstuvwxyz");
    const text = `${"a".repeat(290)}cutkey-abcdefghijklmnopqrstuvwxyz tail`;
    const out = redactAndTruncate(text, 300);
    expect(out).not.toContain("cutkey");
    expect(out.length).toBeLessThanOrEqual(301);
  });

  it("loads a config of 5,000 providers with keys and headers in linear time", () => {
    const providers = Array.from({ length: 5000 }, (_, i) => ({
      name: `p${i}`,
      type: "mock",
      models: ["m"],
      api_key: `bulk-key-${i}-0123456789abcdef`,
      headers: { "x-tenant-secret": `bulk-hdr-${i}-fedcba9876543210` },
    }));
    const t0 = performance.now();
    validateConfig({ providers }, "bulk", {});
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    const out = redact("echo bulk-key-4999-0123456789abcdef and bulk-hdr-17-fedcba9876543210");
    const firstRedactMs = performance.now() - t1;
    expect(out).toBe("echo [REDACTED] and [REDACTED]");
    // The old loader rebuilt the whole pattern per key (quadratic): tens of seconds here. Loose
    // bound: most of this is schema validation on a loaded machine.
    expect(loadMs).toBeLessThan(10_000);
    expect(firstRedactMs).toBeLessThan(1000);
  });

  it("registers 20,000 secrets and builds the matcher in linear time", () => {
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) registerSecret(`lin-secret-${i}-a1b2c3d4e5f6`);
    expect(redact("x lin-secret-19999-a1b2c3d4e5f6 y")).toBe("x [REDACTED] y");
    // A regex of 20,000 alternatives took seconds to compile; the index takes milliseconds.
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
