/**
 * The embedded default config (README.md, "Configuration"): providers found in the environment, local model
 * servers found on their usual ports, and where none is found, a labelled set of mock
 * providers so the service still answers and its balancing can be watched.
 */
import { connect } from "node:net";
import { adapterFactory } from "../providers/registry.js";
import { applyProviderEnv } from "./env-providers.js";

type RawProvider = Record<string, unknown>;

interface CloudDefault {
  env: string;
  /** Another variable holding the same key, read when `env` is unset. */
  alias?: string;
  type: string;
  name: string;
  /** alias -> upstream model: "fast" and "smart" let one name balance across vendors. */
  models: Record<string, string>;
}

const CLOUD: CloudDefault[] = [
  {
    env: "OPENAI_API_KEY",
    type: "openai",
    name: "openai",
    models: { "gpt-4o-mini": "gpt-4o-mini", "gpt-4o": "gpt-4o", "gpt-4.1-mini": "gpt-4.1-mini", "gpt-4.1": "gpt-4.1", fast: "gpt-4o-mini", smart: "gpt-4.1" },
  },
  {
    env: "ANTHROPIC_API_KEY",
    type: "anthropic",
    name: "anthropic",
    models: { "claude-3-5-haiku-latest": "claude-3-5-haiku-latest", "claude-sonnet-4-0": "claude-sonnet-4-0", fast: "claude-3-5-haiku-latest", smart: "claude-sonnet-4-0" },
  },
  {
    env: "GEMINI_API_KEY",
    alias: "GOOGLE_API_KEY",
    type: "gemini",
    name: "gemini",
    models: { "gemini-2.0-flash": "gemini-2.0-flash", "gemini-2.5-pro": "gemini-2.5-pro", fast: "gemini-2.0-flash", smart: "gemini-2.5-pro" },
  },
  {
    env: "GROQ_API_KEY",
    type: "groq",
    name: "groq",
    models: { "llama-3.3-70b-versatile": "llama-3.3-70b-versatile", "llama-3.1-8b-instant": "llama-3.1-8b-instant", fast: "llama-3.1-8b-instant", smart: "llama-3.3-70b-versatile" },
  },
  {
    env: "TOGETHER_API_KEY",
    type: "together",
    name: "together",
    models: { "meta-llama/Llama-3.3-70B-Instruct-Turbo": "meta-llama/Llama-3.3-70B-Instruct-Turbo", smart: "meta-llama/Llama-3.3-70B-Instruct-Turbo" },
  },
  {
    env: "OPENROUTER_API_KEY",
    type: "openrouter",
    name: "openrouter",
    models: { "openai/gpt-4o-mini": "openai/gpt-4o-mini", "anthropic/claude-3.5-haiku": "anthropic/claude-3.5-haiku", fast: "openai/gpt-4o-mini" },
  },
  {
    env: "COHERE_API_KEY",
    type: "cohere",
    name: "cohere",
    models: { "command-r-plus": "command-r-plus", "command-r": "command-r", fast: "command-r", smart: "command-r-plus" },
  },
];

/** Bedrock model ids need a cross-region inference profile prefix in most regions. */
function bedrockGeo(region: string): string {
  if (region.startsWith("us-gov-")) return "us-gov";
  if (region.startsWith("us-") || region.startsWith("ca-")) return "us";
  if (region.startsWith("eu-")) return "eu";
  if (region.startsWith("ap-")) return "apac";
  return "us";
}

/**
 * Clouds that need more than one variable: Azure OpenAI (key + endpoint; the SDK's variable
 * names; deployments discovered) and Bedrock (AWS credentials + region, read by the adapter
 * from the standard variables so none is copied into the config).
 */
function cloudWithSettings(env: NodeJS.ProcessEnv): RawProvider[] {
  const out: RawProvider[] = [];
  if (env.AZURE_OPENAI_API_KEY && env.AZURE_OPENAI_ENDPOINT && adapterFactory("azure")) {
    out.push({
      name: "azure",
      type: "azure",
      base_url: "${AZURE_OPENAI_ENDPOINT}",
      api_key: "${AZURE_OPENAI_API_KEY}",
      ...(env.OPENAI_API_VERSION ? { api_version: "${OPENAI_API_VERSION}" } : {}),
      discover_models: true,
    });
  }
  // AWS_BEDROCK_* (region, access key, secret, model ids) win over the standard AWS variables,
  // for hosts whose AWS_* credentials are meant for something else.
  const region = env.AWS_BEDROCK_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const bedrockKeys = !!(env.AWS_BEDROCK_ACCESS_KEY_ID && env.AWS_BEDROCK_SECRET_ACCESS_KEY);
  const aws = bedrockKeys || (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) || env.AWS_BEARER_TOKEN_BEDROCK;
  if (aws && region && adapterFactory("bedrock")) {
    const geo = bedrockGeo(region);
    const ids = urls(env.AWS_BEDROCK_MODEL_IDS);
    out.push({
      name: "bedrock",
      type: "bedrock",
      ...(env.AWS_BEDROCK_REGION ? { region: "${AWS_BEDROCK_REGION}" } : {}),
      ...(bedrockKeys ? { aws_access_key_id: "${AWS_BEDROCK_ACCESS_KEY_ID}", aws_secret_access_key: "${AWS_BEDROCK_SECRET_ACCESS_KEY}" } : {}),
      models:
        ids.length > 0
          ? Object.fromEntries([...ids.map((id) => [id, id]), ["fast", ids[0]!], ["smart", ids.at(-1)!]])
          : {
              "claude-3-5-haiku": `${geo}.anthropic.claude-3-5-haiku-20241022-v1:0`,
              "claude-sonnet-4": `${geo}.anthropic.claude-sonnet-4-20250514-v1:0`,
              "nova-lite": `${geo}.amazon.nova-lite-v1:0`,
              fast: `${geo}.amazon.nova-lite-v1:0`,
              smart: `${geo}.anthropic.claude-sonnet-4-20250514-v1:0`,
            },
    });
  }
  return out;
}

/** The mock pool served when nothing else is configured: four behaviours worth watching. */
export const MOCK_PROVIDERS: RawProvider[] = [
  { name: "mock-fast", latency_ms: 40, jitter_ms: 20, failure_rate: 0, price: [0.15, 0.6] },
  { name: "mock-steady", latency_ms: 120, jitter_ms: 40, failure_rate: 0, price: [0.1, 0.4] },
  { name: "mock-slow", latency_ms: 300, jitter_ms: 300, failure_rate: 0, price: [0.05, 0.2] },
  { name: "mock-flaky", latency_ms: 60, jitter_ms: 30, failure_rate: 0.2, price: [0.08, 0.3] },
].map(({ name, price, ...mock }) => ({
  name,
  type: "mock",
  models: ["mock", "fast", "smart"],
  pricing: { input_per_1m: price[0], output_per_1m: price[1] },
  mock: { ...mock, reply: `Hello from ${name} (a mock provider). You said: {prompt}` },
}));

function portOpen(port: number, host = "127.0.0.1", timeoutMs = 150): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

const urls = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** Local servers: comma-separated env URLs become one provider each; else probe the usual port. */
async function localProviders(env: NodeJS.ProcessEnv, probe: boolean): Promise<RawProvider[]> {
  const out: RawProvider[] = [];
  const ollamaType = adapterFactory("ollama") ? "ollama" : "ollama-openai";
  const ollamaUrls = urls(env.OLLAMA_BASE_URL ?? env.OLLAMA_HOST);
  if (ollamaUrls.length === 0 && probe && (await portOpen(11434))) ollamaUrls.push("http://127.0.0.1:11434");
  ollamaUrls.forEach((u, i) => {
    const base = u.startsWith("http") ? u : `http://${u}`;
    out.push({
      name: ollamaUrls.length > 1 ? `ollama-${i + 1}` : "ollama",
      type: ollamaType,
      base_url: ollamaType === "ollama" ? base.replace(/\/v1\/?$/, "") : base.replace(/\/?$/, "").replace(/(\/v1)?$/, "/v1"),
      discover_models: true,
    });
  });
  const lmUrls = urls(env.LMSTUDIO_BASE_URLS ?? env.LMSTUDIO_BASE_URL);
  if (lmUrls.length === 0 && probe && (await portOpen(1234))) lmUrls.push("http://127.0.0.1:1234/v1");
  lmUrls.forEach((u, i) => {
    const base = (u.startsWith("http") ? u : `http://${u}`).replace(/\/?$/, "").replace(/(\/v1)?$/, "/v1");
    out.push({ name: lmUrls.length > 1 ? `lmstudio-${i + 1}` : "lmstudio", type: "lmstudio", base_url: base, discover_models: true });
  });
  return out;
}

/**
 * Build the default config from the environment. Keys stay `${VAR}` references so the
 * printed config never holds a secret.
 */
export async function defaultRawConfig(env: NodeJS.ProcessEnv = process.env, probeLocal = true): Promise<Record<string, unknown>> {
  const providers: RawProvider[] = [];
  for (const c of CLOUD) {
    const key = env[c.env] ? c.env : c.alias && env[c.alias] ? c.alias : undefined;
    if (!key || !adapterFactory(c.type)) continue;
    providers.push({ name: c.name, type: c.type, api_key: `\${${key}}`, models: c.models });
  }
  providers.push(...cloudWithSettings(env));
  providers.push(...(await localProviders(env, probeLocal)));
  if (providers.length === 0) {
    const mocks = MOCK_PROVIDERS.map((p) => ({ ...p }));
    applyProviderEnv(mocks, env);
    return { pool: { strategy: "adaptive", default_model: "mock" }, providers: mocks };
  }
  applyProviderEnv(providers, env);
  const hasFast = providers.some((p) => p.models && typeof p.models === "object" && "fast" in (p.models as object));
  return { pool: hasFast ? { default_model: "fast" } : {}, providers };
}
