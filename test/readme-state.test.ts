/**
 * The README's shared-state examples are valid configs and say what the schema does.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";

const readme = readFileSync("README.md", "utf8");
const env = { OPENAI_API_KEY: "sk-readme-0123456789", REDIS_URL: "rediss://llmpool:secret-pw@redis.internal:6380/0" };

function yamlBlocks(heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  return [...(end < 0 ? rest : rest.slice(0, end)).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("README shared state", () => {
  it("the Configuration example lists the state defaults", () => {
    const [block] = yamlBlocks("## Configuration");
    const { config } = validateConfig(parseConfigText(block!, "README"), "README", env);
    expect(config.state).toEqual({ backend: "memory", key_prefix: "llmpool", on_unavailable: "local", replicas_hint: 1 });
  });

  it("the Running several replicas example is a valid redis config", () => {
    const [block] = yamlBlocks("## Running several replicas");
    const { config } = validateConfig(parseConfigText(block!, "README"), "README", env);
    expect(config.state).toEqual({ backend: "redis", url: env.REDIS_URL, key_prefix: "llmpool", on_unavailable: "local", replicas_hint: 3 });
    expect(config.providers[0]).toMatchObject({ rpm: 500, tpm: 200000, max_concurrency: 64 });
  });

  it("the racing example under Running several replicas is a valid config racing an rpm-limited provider", () => {
    const block = yamlBlocks("## Running several replicas").find((b) => b.includes("strategy: racing"));
    expect(block).toBeDefined();
    const { config } = validateConfig(parseConfigText(block!, "README"), "README", env);
    expect(config.state.backend).toBe("redis");
    expect(config.pool.strategy).toBe("racing");
    expect(config.providers.find((p) => p.name === "small-quota")).toMatchObject({ rpm: 100 });
  });
});
