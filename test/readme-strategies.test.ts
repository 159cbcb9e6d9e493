/**
 * The README's Strategies examples are real: every YAML block in that section loads, and the
 * nested composite example routes as the README says.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";
import { buildEndpoints } from "../src/pool/build.js";
import { ModelRouter } from "../src/pool/router.js";
import { createFakeClock } from "../src/util/clock.js";
import { memberModel } from "../src/pool/composite/members.js";
import { affinityOptions } from "../src/balancer/affinity.js";
import { DEFAULT_STRATEGY_OPTIONS } from "../src/balancer/registry.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const start = readme.indexOf("## Strategies");
const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const env = { OPENAI_API_KEY: "sk-a", GROQ_API_KEY: "gsk-b", TOGETHER_API_KEY: "tg-c", OPENROUTER_API_KEY: "or-d" };

describe("README Strategies section", () => {
  it("has examples, and every one of them is a valid config", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const b of blocks) {
      const raw = parseConfigText(b, "README") as Record<string, unknown>;
      // Fragments without providers get a minimal one.
      if (!raw.providers) raw.providers = [{ name: "x", type: "mock", models: ["m"] }];
      expect(() => validateConfig(raw, "README", env), b).not.toThrow();
    }
  });

  it("lists every knob with its real default", () => {
    const raw = parseConfigText(blocks[0]!, "README") as { pool: { strategy_options: unknown; affinity: unknown } };
    expect(raw.pool.strategy_options).toEqual(
      Object.fromEntries(Object.entries(DEFAULT_STRATEGY_OPTIONS).filter(([, v]) => Object.keys(v).length > 0)),
    );
    expect(raw.pool.affinity).toEqual(affinityOptions.parse({}));
  });

  it("the composite example routes llama-3.1-8b only through its fallback chain, with each member's name", () => {
    const b = blocks.find((x) => x.includes("name: llama, type: fallback"))!;
    const { config } = validateConfig(parseConfigText(b, "README"), "README", env);
    const endpoints = buildEndpoints(config, createFakeClock());
    const router = new ModelRouter(endpoints);
    const routes = router.resolve("llama-3.1-8b").routes;
    expect(routes.map((r) => `${r.endpoint.name}=${r.upstreamModel}`)).toEqual(["llama=llama@pool"]);
    const byName = new Map(endpoints.map((e) => [e.name, e]));
    expect(memberModel(byName.get("local-pool")!, "llama@pool")).toBe("llama@pool");
    expect(memberModel(byName.get("vllm-1")!, "llama@pool")).toBe("llama-3.1-8b");
    expect(memberModel(byName.get("together")!, "llama@pool")).toBe("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo");
    expect(router.resolve("gpt-4o-mini").routes.map((r) => r.endpoint.name)).toEqual(["openai-a", "groq-b", "fast-pair"]);
    expect(memberModel(byName.get("groq-b")!, "gpt-4o-mini")).toBe("llama-3.1-8b-instant");
  });
});
