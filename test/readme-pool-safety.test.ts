/**
 * The README's examples for queueing by connection capacity, paced release and stream
 * on_break are valid configs that mean what the text says.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";
import { effectiveConcurrency } from "../src/limits/limiter.js";

const readme = readFileSync("README.md", "utf8");

/** The ```yaml blocks of one `###` README section. */
function yamlBlocks(heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(/\n##+ /);
  return [...(end < 0 ? rest : rest.slice(0, end)).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("README pool safety examples", () => {
  it("the queueing example caps calls at the smaller of connections and max_concurrency", () => {
    const [block] = yamlBlocks("### Rate limits, cool-downs and the queue");
    const { config } = validateConfig(parseConfigText(block!, "README"), "README", {});
    const p = config.providers[0]!;
    expect([p.connections, p.max_concurrency, p.rpm]).toEqual([64, 32, 600]);
    expect(effectiveConcurrency(p.max_concurrency, p.connections)).toBe(32);
    expect(config.pool.queue).toEqual({ max_size: 5000, timeout_ms: 60000 });
  });

  it("the stream example sets on_break", () => {
    const [block] = yamlBlocks("### Streams: stalls and resume");
    const { config } = validateConfig({ ...(parseConfigText(block!, "README") as object), providers: [{ name: "m", type: "mock", models: ["m"] }] }, "README", {});
    expect(config.pool.stream.on_break).toBe("resume");
  });
});
