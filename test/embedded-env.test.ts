/**
 * The embedded default's per-provider environment variables and key aliases (README
 * "Configuration"): <PROVIDER>_BASE_URL / _ENABLED / _PRIORITY / _TIMEOUT /
 * _MAX_CONCURRENT_REQUESTS, GOOGLE_API_KEY for Gemini, AWS_BEDROCK_* for Bedrock.
 */
import { describe, expect, it } from "vitest";
import { defaultRawConfig } from "../src/config/defaults.js";
import { validateConfig } from "../src/config/load.js";
import { harness } from "./helpers/harness.js";
import { user } from "./helpers/server.js";

const { fakes, serve } = harness();

async function built(env: NodeJS.ProcessEnv) {
  return validateConfig(await defaultRawConfig(env, false), "embedded default", env).config;
}

describe("embedded default from the environment", () => {
  it("OPENAI_BASE_URL points the openai provider at a compatible server, end to end", async () => {
    const [up] = await fakes("up");
    const env = { OPENAI_API_KEY: "sk-test-openai-0123456789", OPENAI_BASE_URL: up!.url, OPENAI_TIMEOUT: "2.5", OPENAI_MAX_CONCURRENT_REQUESTS: "8" };
    const s = await serve(await defaultRawConfig(env, false), { env });
    const res = await s.grpc.chat({ model: "fast", messages: [user("hi")] });
    expect(res.provider).toBe("openai");
    expect(up!.chatRequests()[0]!.body.model).toBe("gpt-4o-mini");
    const p = s.server.loaded.config.providers[0]!;
    expect([p.base_url, p.timeout_ms, p.max_concurrency]).toEqual([up!.url, 2500, 8]);
  });

  it("_ENABLED and _PRIORITY per provider; names with other characters use _", async () => {
    const cfg = await built({ OPENAI_API_KEY: "sk-a", GROQ_API_KEY: "gsk-b", GROQ_ENABLED: "false", OPENAI_PRIORITY: "2" });
    const by = Object.fromEntries(cfg.providers.map((p) => [p.name, p]));
    expect(by.groq!.enabled).toBe(false);
    expect(by.openai!.enabled).toBe(true);
    expect(by.openai!.priority).toBe(2);
    expect(by.groq!.priority).toBe(1);
    const mocks = await built({ MOCK_FLAKY_ENABLED: "0", MOCK_SLOW_PRIORITY: "3" });
    const m = Object.fromEntries(mocks.providers.map((p) => [p.name, p]));
    expect(m["mock-flaky"]!.enabled).toBe(false);
    expect(m["mock-slow"]!.priority).toBe(3);
    // The shared mock list itself is untouched.
    expect((await built({})).providers.every((p) => p.enabled && p.priority === 1)).toBe(true);
  });

  it("a value that does not parse names its variable", async () => {
    await expect(defaultRawConfig({ OPENAI_API_KEY: "sk-a", OPENAI_ENABLED: "nope", OPENAI_PRIORITY: "high", OPENAI_TIMEOUT: "-1", OPENAI_MAX_CONCURRENT_REQUESTS: "2.5" }, false)).rejects.toThrow(
      /OPENAI_ENABLED: expected true or false \(got "nope"\)\n  OPENAI_PRIORITY: expected an integer \(got "high"\)\n  OPENAI_TIMEOUT: expected seconds > 0.*\n  OPENAI_MAX_CONCURRENT_REQUESTS: expected an integer >= 0/,
    );
    // A bad URL is the schema's error on that provider.
    await expect(built({ OPENAI_API_KEY: "sk-a", OPENAI_BASE_URL: "ftp://x" })).rejects.toThrow(/providers\[0\]\.base_url: scheme ftp:\/\//);
  });

  it("GOOGLE_API_KEY serves Gemini when GEMINI_API_KEY is unset", async () => {
    const cfg = await built({ GOOGLE_API_KEY: "AIza-test-0123456789" });
    expect(cfg.providers.map((p) => [p.name, p.type, p.api_key])).toEqual([["gemini", "gemini", "AIza-test-0123456789"]]);
    const both = await defaultRawConfig({ GOOGLE_API_KEY: "g", GEMINI_API_KEY: "m" }, false);
    expect((both.providers as { api_key: string }[])[0]!.api_key).toBe("${GEMINI_API_KEY}");
  });

  it("AWS_BEDROCK_* give Bedrock its region, credentials and model ids, kept as references", async () => {
    const env = {
      AWS_BEDROCK_REGION: "eu-west-1",
      AWS_BEDROCK_ACCESS_KEY_ID: "AKIATESTBEDROCK0001",
      AWS_BEDROCK_SECRET_ACCESS_KEY: "secret-test-0123456789abcdef",
      AWS_BEDROCK_MODEL_IDS: "eu.amazon.nova-lite-v1:0, eu.anthropic.claude-sonnet-4-20250514-v1:0",
    };
    const raw = await defaultRawConfig(env, false);
    const rawP = (raw.providers as Record<string, unknown>[])[0]!;
    expect(rawP.aws_secret_access_key).toBe("${AWS_BEDROCK_SECRET_ACCESS_KEY}");
    const p = (await built(env)).providers[0]!;
    expect([p.name, p.region, p.aws_access_key_id, p.aws_secret_access_key]).toEqual(["bedrock", "eu-west-1", env.AWS_BEDROCK_ACCESS_KEY_ID, env.AWS_BEDROCK_SECRET_ACCESS_KEY]);
    expect(p.models).toEqual({
      "eu.amazon.nova-lite-v1:0": "eu.amazon.nova-lite-v1:0",
      "eu.anthropic.claude-sonnet-4-20250514-v1:0": "eu.anthropic.claude-sonnet-4-20250514-v1:0",
      fast: "eu.amazon.nova-lite-v1:0",
      smart: "eu.anthropic.claude-sonnet-4-20250514-v1:0",
    });
  });
});
