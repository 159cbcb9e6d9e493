/**
 * The README "Drop-in HTTP APIs" snippets run as written (base URL pointed at a test server)
 * against a real llmpool over a mock provider, and the section's config examples validate.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";
import { harness } from "./helpers/harness.js";

const h = harness();
const readme = readFileSync("README.md", "utf8");
const start = readme.indexOf("\n## Drop-in HTTP APIs\n");
const section = readme.slice(start, readme.indexOf("\n## ", start + 5));
const blocks = (lang: string) => [...section.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
// Snippets are written into the repo (so their imports resolve from node_modules) and removed after.
const tmp = join(process.cwd(), "test", ".readme-doors-tmp");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("README Drop-in HTTP APIs", () => {
  it("the config examples validate", () => {
    const yaml = blocks("yaml");
    expect(yaml.length).toBe(2);
    const env = { GATEWAY_KEY: "gw-readme-0123456789", OPENAI_API_KEY: "sk-readme-0123456789" };
    const { config } = validateConfig(parseConfigText(yaml[0]! + "providers: [{ name: m, type: mock, models: [x] }]\n", "README"), "README", env);
    expect(config.server).toMatchObject({ ollama_port: 11434, doors: { openai: true, anthropic: true, ollama: true } });
    const emb = validateConfig(parseConfigText(yaml[1]!, "README"), "README", env).config;
    expect(emb.pool.embeddings).toEqual({ max_inputs: 2048, max_input_tokens: 8192 });
    expect(emb.providers.map((p) => p.embedding_models)).toEqual([{ "embed-model": "nomic-embed-text" }, { "embed-model": "text-embedding-3-small" }]);
  });

  it("each SDK snippet runs against a real llmpool", async () => {
    const snippets = blocks("ts");
    expect(snippets.map((s) => /from "([^"]+)"/.exec(s)?.[1])).toEqual(["openai", "@anthropic-ai/sdk", "ollama"]);
    const s = await h.serve({
      server: { auth: { api_keys: ["my-gateway-key"] } },
      providers: [{ name: "m", type: "mock", models: ["chat-model"], embedding_models: ["embed-model"], mock: { latency_ms: 1, reply: "Hi from the pool" } }],
    });
    mkdirSync(tmp, { recursive: true });
    const printed: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void printed.push(a.map(String).join(" ")));
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => (printed.push(String(chunk)), true));
    try {
      for (const [i, code] of snippets.entries()) {
        const file = join(tmp, `snippet-${i}.ts`);
        writeFileSync(file, code.replaceAll("http://localhost:50051", s.url));
        await import(file);
      }
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
    const out = printed.join("");
    expect(out.match(/Hi from the pool/g)!.length).toBeGreaterThanOrEqual(5);
    expect(printed).toContain("8"); // the mock's vector length
    expect(printed).toContain("end_turn");
    expect(printed).toContain("chat-model,embed-model");
    expect(printed).toContain("1");
  });
});
