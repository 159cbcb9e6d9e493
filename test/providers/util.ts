/**
 * Helpers for adapter-level tests: build an adapter from a raw provider entry (validated like
 * a config file), make an UpstreamCall, drain a stream, catch a ProviderError.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../../src/config/load.js";
import { createAdapter } from "../../src/providers/registry.js";
import { type Provider, type StreamEvent, type UpstreamCall } from "../../src/core/provider.js";
import { ProviderError } from "../../src/core/errors.js";

export function adapterFor(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Provider {
  const loaded = validateConfig({ providers: [raw] }, "test", env);
  return createAdapter(loaded.config.providers[0]!, { member: () => { throw new Error("no members"); } });
}

export function callOf(req: MessageInitShape<typeof ChatRequestSchema>, model: string, prefill?: string): UpstreamCall {
  return { request: create(ChatRequestSchema, req), model, signal: AbortSignal.timeout(5000), requestId: "t", prefill };
}

export async function collect(it: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

export async function providerError(p: Promise<unknown> | AsyncIterable<unknown>): Promise<ProviderError> {
  try {
    if (Symbol.asyncIterator in (p as object)) for await (const _ of p as AsyncIterable<unknown>);
    else await p;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error("expected a ProviderError");
}

export const textOf = (events: StreamEvent[]) => events.map((e) => e.delta ?? "").join("");
export const user = (content: string) => ({ role: "user", content });
