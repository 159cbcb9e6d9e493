/**
 * The README's configuration examples for cost, budgets and the dashboard are valid configs.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";
import { createTablePricer } from "../src/cost/pricer.js";
import { pricingFromConfig } from "../src/cost/pricing.js";

const readme = readFileSync("README.md", "utf8");
const env = { OPENAI_API_KEY: "sk-readme-0123456789", AZURE_KEY: "azure-readme-0123456789", DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db" };

/** The ```yaml blocks of one README section. */
function yamlBlocks(heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("README cost configuration", () => {
  it("the Configuration example validates, with the cost keys and the dashboard switch", () => {
    const [block] = yamlBlocks("## Configuration");
    const { config } = validateConfig(parseConfigText(block!, "README"), "README", env);
    expect(config.cost.ledger).toEqual({ backend: "sqlite", path: "./data/llmpool-ledger.db", writer: "thread", flush_interval_ms: 1000, max_batch: 1024, max_pending: 200000, retention_days: 90 });
    expect(config.cost.budgets.tenants.acme).toEqual({ daily_usd: 25, monthly_usd: 500 });
    expect(config.providers[0]!.budget).toEqual({ daily_usd: 50, monthly_usd: 1000 });
    expect(config.server.dashboard.enabled).toBe(true);
  });

  it("the Cost and budgets examples validate and price as documented", () => {
    const blocks = yamlBlocks("## Cost and budgets");
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const b of blocks) validateConfig(parseConfigText(b, "README"), "README", env);
    const { config } = validateConfig(parseConfigText(blocks[0]!, "README"), "README", env);
    const pricer = createTablePricer({ prices: () => config.cost.prices });
    const azure = config.providers[0]!;
    const ep = { name: azure.name, type: azure.type, config: azure, pricing: pricingFromConfig(azure.pricing) };
    expect(pricer.explain(ep, "gpt-4o")).toEqual({ pricing: { inputPer1m: 2, outputPer1m: 8, cachedInputPer1m: 2 }, source: "provider_model" });
    expect(pricer.explain(ep, "gpt-4o-mini").source).toBe("cost.prices");
  });
});
