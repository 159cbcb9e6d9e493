/**
 * Azure OpenAI request routing: the body is OpenAI's; the path names the deployment
 * (`/openai/deployments/{deployment}/chat/completions?api-version=...`) and the key travels
 * in an `api-key` header.
 */
import type { OpenAIRoutes } from "../openai/index.js";

/** The GA data-plane version used when `api_version` is not set. */
export const AZURE_API_VERSION = "2024-10-21";
/** The last data-plane version that lists deployments (model discovery). */
export const AZURE_DEPLOYMENTS_API_VERSION = "2022-12-01";

export interface AzureRouteOptions {
  apiVersion: string;
  /** Upstream model name -> deployment name; a model not listed is its own deployment. */
  deployments: Record<string, string>;
}

export function azureRoutes(opts: AzureRouteOptions): OpenAIRoutes {
  const v = encodeURIComponent(opts.apiVersion);
  return {
    chatPath: (model) =>
      `/openai/deployments/${encodeURIComponent(opts.deployments[model] ?? model)}/chat/completions?api-version=${v}`,
    embeddingsPath: (model) => `/openai/deployments/${encodeURIComponent(opts.deployments[model] ?? model)}/embeddings?api-version=${v}`,
    modelsPath: `/openai/deployments?api-version=${AZURE_DEPLOYMENTS_API_VERSION}`,
    // Models - List exists in every current data-plane version: cheap, and checks the key.
    probePath: `/openai/models?api-version=${v}`,
    authHeaders: (key) => ({ "api-key": key }),
    notFoundHint: "base_url must be the resource endpoint, e.g. https://NAME.openai.azure.com",
  };
}

/** `max_completion_tokens` arrived in 2024-09-01-preview; older versions take `max_tokens`. */
export const azureTakesMaxCompletionTokens = (apiVersion: string) => apiVersion >= "2024-09-01";
