import { describe, expect, it } from "vitest";
import { validateConfig, ConfigError } from "./load.js";
import { configSchema } from "./schema.js";
import { allowedKeys, editDistance, suggestKey } from "./suggest.js";

function problems(raw: unknown): string[] {
  try {
    validateConfig(raw, "test", {});
  } catch (err) {
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

describe("config suggestions", () => {
  it("counts a swap of neighbours as one edit", () => {
    expect(editDistance("wieght", "weight")).toBe(1);
    expect(editDistance("prot", "port")).toBe(1);
    expect(editDistance("abc", "abc")).toBe(0);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("finds the keys allowed at a path through arrays, defaults and unions", () => {
    expect(allowedKeys(configSchema, ["providers", 0])).toContain("weight");
    expect(allowedKeys(configSchema, ["pool", "warmup"])).toEqual(expect.arrayContaining(["enabled", "concurrency"]));
    expect(allowedKeys(configSchema, [])).toEqual(expect.arrayContaining(["server", "pool", "providers"]));
    expect(suggestKey("zzzzqqq", allowedKeys(configSchema, ["providers", 0]))).toBeUndefined();
  });

  it("unknown keys say what was meant; a bad port says the port is the problem", () => {
    const got = problems({
      server: { prot: 1 },
      pool: { warmup: { concurency: 2 } },
      providers: [{ name: "a", type: "openai", base_url: "http://127.0.0.1:99999/v1", api_key: "k", models: ["m"], wieght: 2, zzzzqqq: 1 }],
    });
    expect(got).toEqual(
      expect.arrayContaining([
        "server.prot: unknown key; did you mean `port`?",
        "pool.warmup.concurency: unknown key; did you mean `concurrency`?",
        "providers[0].wieght: unknown key; did you mean `weight`?",
        "providers[0].zzzzqqq: unknown key",
        "providers[0].base_url: port 99999 out of range 1-65535",
      ]),
    );
    expect(problems({ providers: [{ name: "a", type: "openai", base_url: "http://h:abc/v1", api_key: "k", models: ["m"] }] })).toContain(
      'providers[0].base_url: port "abc" is not a number',
    );
  });
});
