/**
 * Endpoints for unit tests: a validated provider config around a scriptable in-memory
 * provider, on a given clock.
 */
import { validateConfig } from "../../src/config/load.js";
import type { ProviderConfig } from "../../src/config/schema.js";
import { Endpoint } from "../../src/pool/endpoint.js";
import type { ChatResult, Provider, StreamEvent, UpstreamCall } from "../../src/core/provider.js";
import type { Clock } from "../../src/util/clock.js";

export function providerConfig(name: string, extra: Record<string, unknown> = {}): ProviderConfig {
  return validateConfig({ providers: [{ name, type: "mock", models: ["m"], ...extra }] }, "test", {}).config.providers[0]!;
}

/** A provider whose calls run `impl` (default: answer "ok"). */
export function stubProvider(name: string, impl: Partial<Provider> = {}): Provider {
  return {
    name,
    type: "mock",
    capabilities: { vision: false, tools: true, contextWindow: 0 },
    async chat(_call: UpstreamCall): Promise<ChatResult> {
      return { id: "x", model: "m", content: "ok", toolCalls: [], finishReason: "stop", rawFinishReason: "stop" };
    },
    async *stream(): AsyncGenerator<StreamEvent> {
      yield { delta: "ok" };
    },
    async close() {},
    ...impl,
  };
}

export function makeEndpoint(name: string, clock: Clock, extra: Record<string, unknown> = {}, impl: Partial<Provider> = {}): Endpoint {
  return new Endpoint(providerConfig(name, extra), stubProvider(name, impl), clock);
}
