import { describe, expect, it } from "vitest";
import { validateConfig } from "../config/load.js";
import { createFakeClock } from "../util/clock.js";
import { buildEndpoints } from "./build.js";
import { compileGlob, matchGlob, ModelRouter, upstreamModelFor } from "./router.js";

function router(providers: Record<string, unknown>[], defaultModel?: string) {
  const { config } = validateConfig({ pool: { default_model: defaultModel }, providers }, "t", {});
  return new ModelRouter(buildEndpoints(config, createFakeClock()), config.pool.default_model);
}
const mock = (name: string, models: unknown) => ({ name, type: "mock", models });

describe("model routing", () => {
  it("globs match with * and ?, and substitute into the upstream name", () => {
    expect(matchGlob(compileGlob("gpt-4o*", "gpt-4o*"), "gpt-4o-mini")).toBe("gpt-4o-mini");
    expect(matchGlob(compileGlob("gpt-4o*", "gpt-4o*"), "gpt-4.1")).toBeUndefined();
    expect(matchGlob(compileGlob("claude-*", "anthropic/claude-*"), "claude-3-5-haiku")).toBe("anthropic/claude-3-5-haiku");
    expect(matchGlob(compileGlob("llama-?b", "meta/llama-8b"), "llama-8b")).toBe("meta/llama-8b");
    expect(matchGlob(compileGlob("*/*", "*--*"), "org/model")).toBe("org--model");
    expect(matchGlob(compileGlob("a.b*", "x"), "aXb")).toBeUndefined();
  });

  it("routes a model to every provider that serves it, exact names before globs", () => {
    const r = router([
      mock("openai", ["gpt-4o*"]),
      mock("azure", { "gpt-4o-mini": "my-deployment", "gpt-*": "fallback-deployment" }),
      mock("router", { "claude-*": "anthropic/claude-*", "*": "openrouter/auto" }),
    ]);
    const routes = (m: string) => r.resolve(m).routes.map((x) => `${x.endpoint.name}=${x.upstreamModel}`);
    expect(routes("gpt-4o-mini")).toEqual(["openai=gpt-4o-mini", "azure=my-deployment", "router=openrouter/auto"]);
    expect(routes("gpt-4.1")).toEqual(["azure=fallback-deployment", "router=openrouter/auto"]);
    expect(routes("claude-sonnet-4-0")).toEqual(["router=anthropic/claude-sonnet-4-0"]);
    // ListModels shows the patterns as configured.
    expect(r.models()).toEqual(["*", "claude-*", "gpt-*", "gpt-4o*", "gpt-4o-mini"]);
    expect(r.defaultModel).toBe("gpt-4o-mini");
  });

  it("says NOT_FOUND with what is served", () => {
    const r = router([mock("a", ["gpt-4o*"]), mock("b", ["mock"])]);
    expect(() => r.resolve("claude-3")).toThrow(/model "claude-3" is not served by any provider; served models: gpt-4o\*, mock/);
  });

  it("exposes the per-provider lookup composites use", () => {
    const models = new Map([["claude-*", "anthropic/claude-*"], ["fast", "claude-3-5-haiku"]]);
    expect(upstreamModelFor(models, "fast")).toBe("claude-3-5-haiku");
    expect(upstreamModelFor(models, "claude-x")).toBe("anthropic/claude-x");
    expect(upstreamModelFor(models, "gpt")).toBeUndefined();
  });

  it("accepts a default model served only through a glob", () => {
    const r = router([mock("a", ["gpt-4o*"])], "gpt-4o-mini");
    expect(r.resolve("").routes[0]!.upstreamModel).toBe("gpt-4o-mini");
  });
});
