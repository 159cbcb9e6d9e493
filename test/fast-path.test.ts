/**
 * The hot-path handler (src/server/fast-path.ts) and connect-node must be indistinguishable to
 * clients: same answers, same error codes, messages and metadata. Compressed requests and
 * gRPC-Web take connect-node's path, so each case runs through both.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";
import { openaiProvider, startServer, user, type TestServer } from "./helpers/server.js";

let s: TestServer;
let limited: FakeUpstream;
let clients: Record<string, Client<typeof LLMPool>>;

beforeAll(async () => {
  limited = await startFakeOpenAI("limited");
  limited.behave({ status: 429, headers: { "retry-after": "7" }, errorBody: { error: { message: "Rate limit reached", type: "rate_limit_error" } } });
  s = await startServer({
    providers: [
      { name: "m", type: "mock", models: ["mock"], mock: { latency_ms: 0, reply: "said {prompt}" } },
      openaiProvider("limited", limited.url, { models: ["busy"] }),
    ],
    // No queueing: a rate-limited model is refused at once, with the upstream's retry delay.
    pool: { default_model: "mock", max_retries: 0, queue: { max_size: 1000, timeout_ms: 0 } },
  });
  const gz = { sendCompression: compressionGzip, acceptCompression: [compressionGzip] };
  clients = {
    "grpc (fast)": createClient(LLMPool, createGrpcTransport({ baseUrl: s.url })),
    "grpc gzip (connect-node)": createClient(LLMPool, createGrpcTransport({ baseUrl: s.url, ...gz })),
    "connect json (fast)": createClient(LLMPool, createConnectTransport({ baseUrl: s.url, httpVersion: "1.1" })),
    "connect binary h2 (fast)": createClient(LLMPool, createConnectTransport({ baseUrl: s.url, httpVersion: "2", useBinaryFormat: true })),
    "connect json gzip (connect-node)": createClient(LLMPool, createConnectTransport({ baseUrl: s.url, httpVersion: "1.1", ...gz, compressMinBytes: 0 })),
    "grpc-web (connect-node)": createClient(LLMPool, createGrpcWebTransport({ baseUrl: s.url, httpVersion: "1.1" })),
  };
});
afterAll(async () => {
  await s.close();
  await limited.close();
});

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected an error");
}

describe("fast path and connect-node agree", () => {
  it("answers Chat and StreamChat the same way", async () => {
    for (const [name, c] of Object.entries(clients)) {
      const res = await c.chat({ messages: [user("hi")] }, { headers: { "x-request-id": `id-${name.length}` } });
      expect(res.message?.content, name).toBe("said hi");
      expect(res.requestId, name).toBe(`id-${name.length}`);
      let text = "";
      let last;
      for await (const ch of c.streamChat({ messages: [user("a b c")] })) {
        text += ch.delta;
        last = ch;
      }
      expect(text, name).toBe("said a b c");
      expect(last?.finishReason, name).toBe("stop");
    }
  });

  it("reports validation errors identically", async () => {
    for (const [name, c] of Object.entries(clients)) {
      const err = await failure(c.chat({ messages: [user("x")], temperature: 3 }));
      expect([name, err.code, err.rawMessage]).toEqual([name, Code.InvalidArgument, "temperature: must be in [0, 2], got 3"]);
      const serr = await failure(
        (async () => {
          for await (const _ of c.streamChat({ messages: [] })) void _;
        })(),
      );
      expect([name, serr.code, serr.rawMessage]).toEqual([name, Code.InvalidArgument, "messages: at least one message is required"]);
    }
  });

  it("carries error metadata (retry delay) and the request id header", async () => {
    for (const [name, c] of Object.entries(clients)) {
      const err = await failure(c.chat({ model: "busy", messages: [user("x")] }));
      expect(err.code, name).toBe(Code.ResourceExhausted);
      // The first call meets the upstream's 429; the provider then cools down for its
      // retry-after, and later calls are refused by the cool-down: same code, same delay.
      expect(err.rawMessage, name).toMatch(/limited: (rate_limited \(HTTP 429\)|cooling down for \d+ ms \(upstream 429\))/);
      const ms = Number(err.metadata.get("retry-after-ms"));
      expect(ms, name).toBeGreaterThan(4000);
      expect(ms, name).toBeLessThanOrEqual(7000);
      expect(err.metadata.get("retry-after"), name).toBe("7");
    }
  });

  it("returns the response headers x-request-id and x-llmpool-provider", async () => {
    for (const [name, c] of Object.entries(clients)) {
      let headers: Headers | undefined;
      await c.chat({ messages: [user("x")] }, { headers: { "x-request-id": "hdr-1" }, onHeader: (h) => (headers = h) });
      expect(headers?.get("x-request-id"), name).toBe("hdr-1");
      expect(headers?.get("x-llmpool-provider"), name).toBe("m");
    }
  });

  it("rejects unknown JSON fields and bad envelopes with INVALID_ARGUMENT", async () => {
    const res = await fetch(`${s.url}/llmpool.v1.LLMPool/Chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "x" }], temprature: 1 }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toMatch(/cannot decode request: .*temprature/);
  });
});
