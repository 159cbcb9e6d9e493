/**
 * The README's provider example is a valid config: every key it shows is accepted by the
 * schema and each adapter's validate(), and every provider builds.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../../src/config/load.js";
import { createAdapter } from "../../src/providers/registry.js";

describe("README provider example", () => {
  it("validates and builds every adapter", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Providers"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const env = {
      OPENAI_API_KEY: "sk-x",
      AZURE_OPENAI_API_KEY: "az",
      ANTHROPIC_API_KEY: "sk-ant-x",
      GEMINI_API_KEY: "g",
      COHERE_API_KEY: "c",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret",
    };
    const { config } = validateConfig(parseConfigText(yaml, "README.md"), "README.md", env);
    expect(config.providers.map((p) => p.type)).toEqual(["openai", "azure", "anthropic", "gemini", "ollama", "cohere", "bedrock"]);
    for (const p of config.providers) {
      const adapter = createAdapter(p, { member: () => { throw new Error("none"); } });
      expect(adapter.name).toBe(p.name);
      await adapter.close();
    }
  });

  it("the size-cap and prefill example validates, with the values it shows", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Shared adapter behaviour"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const { config } = validateConfig(parseConfigText(yaml, "README.md"), "README.md", { GROQ_API_KEY: "gsk_x" });
    const [vllm, groq] = config.providers;
    expect(vllm).toMatchObject({ connections: 32, max_response_bytes: 4194304, max_stream_event_bytes: 262144 });
    const v = createAdapter(vllm!, { member: () => { throw new Error("none"); } });
    const g = createAdapter(groq!, { member: () => { throw new Error("none"); } });
    expect([v.capacity, v.capabilities.prefill, g.capabilities.prefill]).toEqual([32, true, false]);
    await Promise.all([v.close(), g.close()]);
  });
});
