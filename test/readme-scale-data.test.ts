/**
 * The README's examples for the PostgreSQL ledger, the response cache and tracing are valid
 * configs and mean what the text says.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";

const readme = readFileSync("README.md", "utf8");
const env = { DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db", OTLP_TOKEN: "otlp-token-0123456789" };

/** The first ```yaml block after a heading. */
function block(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  return /```yaml\n([\s\S]*?)```/.exec(readme.slice(start))![1]!;
}

const load = (heading: string) => validateConfig(parseConfigText(block(heading), "README"), "README", env).config;

describe("README: ledger on PostgreSQL, response cache, tracing", () => {
  it("the PostgreSQL ledger example", () => {
    const c = load("#### The ledger on PostgreSQL");
    expect(c.cost.ledger).toMatchObject({ backend: "postgres", url: env.DATABASE_URL, max_batch: 1024, max_pending: 200000 });
  });

  it("the response cache example shows the defaults", () => {
    const c = load("### Response cache");
    const defaults = validateConfig({ cache: { enabled: true }, providers: [{ name: "m", type: "mock", models: ["m"] }] }, "t", {}).config.cache;
    expect(c.cache).toEqual(defaults);
  });

  it("the tracing example", () => {
    const c = load("### Tracing");
    expect(c.telemetry.tracing).toEqual({
      enabled: true,
      endpoint: "http://127.0.0.1:4318/v1/traces",
      service_name: "llmpool",
      sample_ratio: 0.1,
      headers: { authorization: `Bearer ${env.OTLP_TOKEN}` },
    });
  });
});
