/**
 * The Azure OpenAI adapter (`type: azure`): OpenAI's chat-completions mapping and stream
 * parser on Azure's deployment paths, with `api_version` and a model -> deployment map.
 * `base_url` is the resource endpoint, e.g. https://my-resource.openai.azure.com.
 */
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { OpenAIProvider, type OpenAIPreset } from "../openai/index.js";
import type { Provider } from "../../core/provider.js";
import { AZURE_API_VERSION, azureRoutes, azureTakesMaxCompletionTokens } from "./request.js";

export function createAzureProvider(cfg: ProviderConfig): Provider {
  const apiVersion = cfg.api_version ?? AZURE_API_VERSION;
  const preset: OpenAIPreset = {
    baseUrl: cfg.base_url!,
    requiresKey: true,
    maxCompletionTokens: azureTakesMaxCompletionTokens(apiVersion),
    capabilities: { vision: true, tools: true, contextWindow: 128_000, imageUrls: true },
  };
  return new OpenAIProvider(cfg, preset, azureRoutes({ apiVersion, deployments: cfg.deployments ?? {} }));
}

export const azureAdapter = {
  validate(cfg: ProviderConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (!cfg.base_url) {
      problems.push({ path: "base_url", message: "required for type azure (the resource endpoint, e.g. https://NAME.openai.azure.com)" });
    } else if (/\/openai(\/|$)/.test(new URL(cfg.base_url).pathname)) {
      problems.push({ path: "base_url", message: "give the resource endpoint only; llmpool adds /openai/deployments/..." });
    }
    if (!cfg.api_key) problems.push({ path: "api_key", message: "required for type azure" });
    if (cfg.api_version && !/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(cfg.api_version)) {
      problems.push({ path: "api_version", message: `not an Azure OpenAI API version (e.g. ${AZURE_API_VERSION})` });
    }
    const models = Array.isArray(cfg.models) ? cfg.models : Object.values(cfg.models);
    for (const m of Object.keys(cfg.deployments ?? {})) {
      if (models.length > 0 && !models.includes(m) && !cfg.discover_models) {
        problems.push({ path: `deployments.${m}`, message: `no model ${JSON.stringify(m)} is served by this provider (keys are upstream model names)` });
      }
    }
    return problems;
  },
  create: createAzureProvider,
};
