import { describe, expect, it, vi, afterEach } from "vitest";
import { ConfigError, validateConfig } from "../config/load.js";
import { defaultRawConfig } from "../config/defaults.js";
import { redact } from "../util/redact.js";
import { adapterFactory } from "./registry.js";

function problems(provider: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    validateConfig({ providers: [{ name: "p", models: ["m"], ...provider }] }, "t.yaml", env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

afterEach(() => vi.unstubAllEnvs());

describe("provider registry and type-specific config", () => {
  it("has an adapter for every wire protocol", () => {
    for (const t of ["openai", "azure", "anthropic", "gemini", "ollama", "ollama-openai", "cohere", "groq", "together", "openrouter", "lmstudio", "vllm", "bedrock", "mock"]) {
      expect(adapterFactory(t), t).toBeDefined();
    }
  });

  it("rejects type-specific keys on other types, naming the path", () => {
    expect(problems({ type: "openai", api_key: "k", deployments: { m: "d" }, region: "us-east-1", keep_alive: "5m" })).toEqual([
      "providers[0].deployments: only for type azure",
      "providers[0].region: only for type bedrock",
      "providers[0].keep_alive: only for type ollama",
    ]);
    expect(problems({ type: "gemini", api_key: "k", api_version: "v1" })).toEqual(["providers[0].api_version: only for types azure, anthropic"]);
  });

  it("checks azure: endpoint, key, api_version and the deployment map", () => {
    expect(problems({ type: "azure" })).toEqual([
      "providers[0].base_url: required for type azure (the resource endpoint, e.g. https://NAME.openai.azure.com)",
      "providers[0].api_key: required for type azure",
    ]);
    expect(
      problems({ type: "azure", base_url: "https://x.openai.azure.com/openai/deployments/d", api_key: "k", api_version: "someday", deployments: { other: "d" } }),
    ).toEqual([
      "providers[0].base_url: give the resource endpoint only; llmpool adds /openai/deployments/...",
      "providers[0].api_version: not an Azure OpenAI API version (e.g. 2024-10-21)",
      'providers[0].deployments.other: no model "other" is served by this provider (keys are upstream model names)',
    ]);
    expect(problems({ type: "azure", base_url: "https://x.openai.azure.com", api_key: "k", api_version: "2025-01-01-preview", deployments: { m: "dep" } })).toEqual([]);
  });

  it("checks bedrock: region and credentials from config or environment", () => {
    expect(problems({ type: "bedrock" })).toEqual([
      "providers[0].region: required for type bedrock (or set AWS_REGION)",
      "providers[0].aws_access_key_id: no credentials: set aws_access_key_id and aws_secret_access_key (or api_key), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    ]);
    expect(problems({ type: "bedrock", region: "moon-1", aws_access_key_id: "AKID" })).toEqual([
      "providers[0].region: not an AWS region (e.g. us-east-1)",
    ]);
    expect(problems({ type: "bedrock", region: "us-east-1", aws_access_key_id: "AKID" })).toEqual(["providers[0].aws_secret_access_key: required with aws_access_key_id"]);
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDENV");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "env-secret");
    vi.stubEnv("AWS_REGION", "eu-west-1");
    expect(problems({ type: "bedrock" })).toEqual([]);
  });

  it("requires keys for hosted APIs but not for a local Ollama", () => {
    expect(problems({ type: "anthropic" })).toEqual(["providers[0].api_key: required for type anthropic"]);
    expect(problems({ type: "gemini" })).toEqual(["providers[0].api_key: required for type gemini"]);
    expect(problems({ type: "cohere" })).toEqual(["providers[0].api_key: required for type cohere"]);
    expect(problems({ type: "ollama", keep_alive: -1 })).toEqual([]);
  });

  it("registers AWS secrets for redaction when the config loads", () => {
    validateConfig(
      { providers: [{ name: "b", type: "bedrock", region: "us-east-1", aws_access_key_id: "AKIDX", aws_secret_access_key: "s3cr3t-value-xyz", aws_session_token: "tok-123456", models: ["m"] }] },
      "t",
      {},
    );
    expect(redact("x s3cr3t-value-xyz tok-123456")).toBe("x [REDACTED] [REDACTED]");
  });
});

describe("embedded default config", () => {
  it("adds Azure (deployments discovered) and Bedrock (profiles by region) from the environment", async () => {
    const raw = await defaultRawConfig(
      { AZURE_OPENAI_API_KEY: "k", AZURE_OPENAI_ENDPOINT: "https://r.openai.azure.com", AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "s", AWS_REGION: "eu-central-1", ANTHROPIC_API_KEY: "a", GEMINI_API_KEY: "g", COHERE_API_KEY: "c" },
      false,
    );
    const providers = raw.providers as Record<string, any>[];
    expect(providers.map((p) => p.type)).toEqual(["anthropic", "gemini", "cohere", "azure", "bedrock"]);
    expect(providers.find((p) => p.type === "azure")).toEqual({
      name: "azure",
      type: "azure",
      base_url: "${AZURE_OPENAI_ENDPOINT}",
      api_key: "${AZURE_OPENAI_API_KEY}",
      discover_models: true,
    });
    expect(providers.find((p) => p.type === "bedrock")!.models.fast).toBe("eu.amazon.nova-lite-v1:0");
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKID");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "s");
    vi.stubEnv("AWS_REGION", "eu-central-1");
    const env = { AZURE_OPENAI_API_KEY: "k", AZURE_OPENAI_ENDPOINT: "https://r.openai.azure.com", ANTHROPIC_API_KEY: "a", GEMINI_API_KEY: "g", COHERE_API_KEY: "c" };
    expect(() => validateConfig(raw, "default", env)).not.toThrow();
  });
});
