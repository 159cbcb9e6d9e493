/**
 * Start a real llmpool server on 127.0.0.1:0 from a raw config object, with clients for every
 * protocol it speaks.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { LLMPool } from "../../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../../src/config/load.js";
import { createLlmpoolServer, type LlmpoolServer, type ServerOptions } from "../../src/server/server.js";
import { createLogger } from "../../src/util/logger.js";

export interface TestServer {
  server: LlmpoolServer;
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Connect protocol over HTTP/1.1 (JSON). */
  connect: Client<typeof LLMPool>;
  /** gRPC over HTTP/2 cleartext. */
  grpc: Client<typeof LLMPool>;
  /** gRPC-Web over HTTP/1.1. */
  grpcWeb: Client<typeof LLMPool>;
  close(): Promise<void>;
}

export async function startServer(
  raw: Record<string, unknown>,
  opts: Partial<ServerOptions> & { env?: NodeJS.ProcessEnv } = {},
): Promise<TestServer> {
  // Tests keep their cost ledger in memory unless they name a file.
  const cost = (raw.cost ?? {}) as Record<string, unknown>;
  const ledger = { path: ":memory:", ...((cost.ledger ?? {}) as Record<string, unknown>) };
  const loaded = validateConfig({ log: { level: "silent" }, ...raw, cost: { ...cost, ledger } }, "test config", opts.env ?? process.env);
  const server = await createLlmpoolServer({
    logger: createLogger("silent"),
    processMetrics: false,
    ...opts,
    loaded,
  });
  const addr = await server.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${addr.port}`;
  return {
    server,
    port: addr.port,
    url,
    connect: createClient(LLMPool, createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: false })),
    grpc: createClient(LLMPool, createGrpcTransport({ baseUrl: url })),
    grpcWeb: createClient(LLMPool, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" })),
    close: () => server.close(2000),
  };
}

/** A provider entry pointing at a fake upstream. */
export function openaiProvider(name: string, url: string, extra: Record<string, unknown> = {}) {
  return { name, type: "openai", base_url: url, api_key: `sk-test-${name}-secret-0123456789`, models: ["gpt-4o-mini"], ...extra };
}

export const user = (content: string) => ({ role: "user", content });
