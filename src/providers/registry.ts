/**
 * The provider registry: config `type` -> how to validate and build its adapter. Adding a
 * wire protocol means adding one entry here and one folder beside this file.
 */
import type { ProviderConfig } from "../config/schema.js";
import type { ConfigProblem } from "../config/interpolate.js";
import type { AdapterDeps, AdapterFactory } from "./adapter-factory.js";
import { anthropicAdapter } from "./anthropic/index.js";
import { azureAdapter } from "./azure/index.js";
import { bedrockAdapter } from "./bedrock/index.js";
import { cohereAdapter } from "./cohere/index.js";
import { geminiAdapter } from "./gemini/index.js";
import { ollamaAdapter } from "./ollama/index.js";
import { MockProvider } from "./mock/index.js";
import { OPENAI_PRESETS, OpenAIProvider } from "./openai/index.js";
import type { Provider } from "../core/provider.js";
import { withRequestDefaults } from "./request-defaults.js";

export type { AdapterDeps, AdapterFactory } from "./adapter-factory.js";

function openAICompatible(type: keyof typeof OPENAI_PRESETS): AdapterFactory {
  const preset = OPENAI_PRESETS[type]!;
  return {
    validate(cfg) {
      const problems: ConfigProblem[] = [];
      if (preset.requiresKey && !cfg.api_key && !cfg.base_url) {
        problems.push({ path: "api_key", message: `required for type ${type}` });
      }
      return problems;
    },
    create: (cfg) => new OpenAIProvider(cfg, preset),
  };
}

const noUpstream: AdapterFactory = {
  validate(cfg) {
    const problems: ConfigProblem[] = [];
    if (cfg.base_url) problems.push({ path: "base_url", message: "not used by type mock" });
    return problems;
  },
  create: (cfg) => new MockProvider(cfg),
};

const ADAPTERS: Record<string, AdapterFactory> = {
  openai: openAICompatible("openai"),
  groq: openAICompatible("groq"),
  together: openAICompatible("together"),
  openrouter: openAICompatible("openrouter"),
  lmstudio: openAICompatible("lmstudio"),
  vllm: openAICompatible("vllm"),
  "ollama-openai": openAICompatible("ollama-openai"),
  mock: noUpstream,
  azure: azureAdapter,
  anthropic: anthropicAdapter,
  gemini: geminiAdapter,
  ollama: ollamaAdapter,
  cohere: cohereAdapter,
  bedrock: bedrockAdapter,
};

/** Type-specific provider keys and the types that read them (anything else is a mistake). */
const TYPE_KEYS: Record<string, readonly string[]> = {
  api_version: ["azure", "anthropic"],
  deployments: ["azure"],
  region: ["bedrock"],
  aws_access_key_id: ["bedrock"],
  aws_secret_access_key: ["bedrock"],
  aws_session_token: ["bedrock"],
  keep_alive: ["ollama"],
};

/** Type-specific keys set on a type that does not read them (composites are checked too). */
export function typeKeyProblems(cfg: ProviderConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [key, types] of Object.entries(TYPE_KEYS)) {
    if ((cfg as Record<string, unknown>)[key] !== undefined && !types.includes(cfg.type)) {
      problems.push({ path: key, message: `only for type${types.length > 1 ? "s" : ""} ${types.join(", ")}` });
    }
  }
  return problems;
}

// Every adapter also rejects the keys of other types.
for (const [type, f] of Object.entries(ADAPTERS)) {
  const own = f.validate;
  ADAPTERS[type] = { ...f, validate: (cfg) => [...typeKeyProblems(cfg), ...own(cfg)] };
}

export function adapterFactory(type: string): AdapterFactory | undefined {
  return ADAPTERS[type];
}

export function createAdapter(cfg: ProviderConfig, deps: AdapterDeps): Provider {
  const f = ADAPTERS[cfg.type];
  if (!f) throw new Error(`provider type ${cfg.type} has no adapter`);
  return withRequestDefaults(f.create(cfg, deps), cfg);
}
