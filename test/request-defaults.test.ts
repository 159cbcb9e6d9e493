/**
 * Per-provider `default_temperature` / `default_max_tokens` (README "Request defaults per
 * provider"): the README's example, served for real against fake upstreams.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";
import { applyRequestDefaults } from "../src/providers/request-defaults.js";
import { harness } from "./helpers/harness.js";
import { user } from "./helpers/server.js";

const { fakes, serve } = harness();
const env = { OPENAI_API_KEY: "sk-test-primary-0123456789", GROQ_API_KEY: "gsk-test-backup-0123456789" };

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const start = readme.indexOf("### Request defaults per provider");
const section = readme.slice(start, readme.indexOf("\n### ", start + 1));
const example = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;

/** The README example with each provider pointed at its fake upstream. */
async function serveExample() {
  const [primary, backup] = await fakes("primary", "backup");
  const raw = parseConfigText(example, "README") as { providers: Record<string, unknown>[] };
  raw.providers[0]!.base_url = primary!.url;
  raw.providers[1]!.base_url = backup!.url;
  const s = await serve(raw as Record<string, unknown>, { env });
  return { s, primary: primary!, backup: backup! };
}

describe("request defaults per provider", () => {
  it("the README example fills temperature and max tokens only where the request sets none", async () => {
    const { s, primary } = await serveExample();
    await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")] });
    await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")], temperature: 0.9 });
    await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")], maxTokens: 7, temperature: 0 });
    const bodies = primary.chatRequests().map((r) => r.body);
    expect(bodies.map((b) => [b.temperature, b.max_completion_tokens])).toEqual([
      [0.2, 256],
      [0.9, 256],
      [0, 7],
    ]);
  });

  it("streams get them too", async () => {
    const { s, primary } = await serveExample();
    for await (const _ of s.grpc.streamChat({ model: "gpt-4o-mini", messages: [user("hi")] })) void _;
    const [got] = primary.chatRequests();
    expect(got!.body).toMatchObject({ stream: true, temperature: 0.2, max_completion_tokens: 256 });
  });

  it("a fallover carries the caller's request, not the first provider's defaults", async () => {
    const { s, primary, backup } = await serveExample();
    primary.behave({ status: 503 });
    const res = await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")] });
    expect(res.provider).toBe("backup");
    expect(primary.chatRequests().length).toBeGreaterThan(0);
    for (const r of primary.chatRequests()) expect(r.body).toMatchObject({ temperature: 0.2, max_completion_tokens: 256 });
    const [got] = backup.chatRequests();
    expect(got!.body.model).toBe("llama-3.1-8b-instant");
    expect(got!.body.max_tokens).toBe(512);
    expect("temperature" in got!.body).toBe(false);
  });

  it("copies the request only when a default applies, and never changes the caller's", () => {
    const req = { messages: [], temperature: undefined, maxTokens: undefined } as never as Parameters<typeof applyRequestDefaults>[0];
    const out = applyRequestDefaults(req, { temperature: 1.5, maxTokens: 3 });
    expect(out).not.toBe(req);
    expect(out).toMatchObject({ temperature: 1.5, maxTokens: 3 });
    expect(req.temperature).toBeUndefined();
    expect(req.maxTokens).toBeUndefined();
    const set = { ...req, temperature: 0.1, maxTokens: 9 };
    expect(applyRequestDefaults(set, { temperature: 1.5, maxTokens: 3 })).toBe(set);
    expect(applyRequestDefaults(req, {})).toBe(req);
  });

  it("refuses bad values, naming the key", () => {
    const bad = (p: Record<string, unknown>) => () =>
      validateConfig({ providers: [{ name: "m", type: "mock", models: ["x"], ...p }] }, "test", {});
    expect(bad({ default_temperature: 3 })).toThrow(/providers\[0\]\.default_temperature: must be <= 2/);
    expect(bad({ default_temperature: "hot" })).toThrow(/default_temperature/);
    expect(bad({ default_max_tokens: 0 })).toThrow(/default_max_tokens/);
    expect(bad({ default_max_tokens: 1.5 })).toThrow(/default_max_tokens.*integer/);
  });
});
