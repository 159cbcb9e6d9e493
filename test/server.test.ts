/**
 * Level 2: the real server on one port, reached by every kind of client.
 */
import { execFile } from "node:child_process";
import { request as h1request } from "node:http";
import http2 from "node:http2";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatRequestSchema, ChatResponseSchema, HealthRequestSchema, HealthResponseSchema, LLMPool, StreamChatResponseSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { createGrpcJsClient } from "./helpers/grpc-js-client.js";
import { startServer, user, type TestServer } from "./helpers/server.js";

const exec = promisify(execFile);
let s: TestServer;

beforeAll(async () => {
  s = await startServer({
    server: { auth: { api_keys: [] }, max_request_bytes: 64 * 1024, cors: { allowed_origins: ["https://app.example"] } },
    pool: { default_model: "mock" },
    providers: [
      { name: "m1", type: "mock", models: ["mock"], mock: { latency_ms: 1, reply: "one: {prompt}" } },
      { name: "m2", type: "mock", models: ["mock"], mock: { latency_ms: 1, reply: "two: {prompt}" } },
    ],
  });
});
afterAll(() => s.close());

function rawHttp(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = h1request({ host: "127.0.0.1", port: s.port, method, path, headers }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("one port, every client", () => {
  it("serves @grpc/grpc-js over h2c: unary, server streaming, deadlines", async () => {
    const c = createGrpcJsClient(`127.0.0.1:${s.port}`);
    try {
      const res = await c.unary("Chat", ChatRequestSchema, ChatResponseSchema, { messages: [{ role: "user", content: "hi" }] }, { deadlineMs: 5000 });
      expect(res.message?.content).toMatch(/^(one|two): hi$/);
      const chunks: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const st = c.stream("StreamChat", ChatRequestSchema, StreamChatResponseSchema, { messages: [{ role: "user", content: "a b c d" }] });
        st.on("data", (m) => chunks.push(m.delta));
        st.on("end", resolve);
        st.on("error", reject);
      });
      expect(chunks.join("")).toMatch(/^(one|two): a b c d$/);
      const err = await c
        .unary("Chat", ChatRequestSchema, ChatResponseSchema, { messages: [] })
        .catch((e: grpc.ServiceError) => e);
      expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((err as grpc.ServiceError).details).toBe("messages: at least one message is required");
      const h = await c.unary("Health", HealthRequestSchema, HealthResponseSchema, {});
      expect(h.serving).toBe(true);
    } finally {
      c.close();
    }
  });

  it("serves Connect over HTTP/1.1 and HTTP/2, and gRPC-Web", async () => {
    for (const client of [s.connect, s.grpcWeb, createClient(LLMPool, createConnectTransport({ baseUrl: s.url, httpVersion: "2" }))]) {
      const res = await client.chat({ messages: [user("x")] });
      expect(res.provider).toMatch(/^m[12]$/);
      let text = "";
      for await (const c of client.streamChat({ messages: [user("y z")] })) text += c.delta;
      expect(text).toMatch(/: y z$/);
    }
  });

  it("answers the README's curl example (Connect JSON over HTTP/1.1)", async () => {
    const res = await rawHttp(
      "POST",
      "/llmpool.v1.LLMPool/Chat",
      { "content-type": "application/json", "x-request-id": "curl-1" },
      JSON.stringify({ model: "mock", messages: [{ role: "user", content: "Hello!" }] }),
    );
    expect(res.status).toBe(200);
    expect(res.headers["x-request-id"]).toBe("curl-1");
    const body = JSON.parse(res.body);
    expect(body.message.content).toMatch(/: Hello!$/);
    expect(body.requestId).toBe("curl-1");
  });

  it("implements grpc.health.v1 Check and Watch", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "llmpool.v1.LLMPool" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expect(health.check({ service: "nope" })).rejects.toMatchObject({ code: Code.NotFound });
    for await (const r of health.watch({})) {
      expect(r.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      break;
    }
  });

  it("serves /metrics, /healthz, /readyz", async () => {
    await s.connect.chat({ messages: [user("x")] });
    const m = await rawHttp("GET", "/metrics");
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/llmpool_requests_total\{kind="chat",model="mock",outcome="ok"\} \d+/);
    expect(m.body).toMatch(/llmpool_upstream_requests_total\{provider="m[12]",status="ok"\}/);
    expect((await rawHttp("GET", "/healthz")).status).toBe(200);
    const ready = await rawHttp("GET", "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toBe("ready: 2/2 providers healthy\n");
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const pre = await rawHttp("OPTIONS", "/llmpool.v1.LLMPool/Chat", {
      origin: "https://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,connect-protocol-version",
    });
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(String(pre.headers["access-control-allow-headers"])).toMatch(/connect-protocol-version/i);
    const other = await rawHttp("OPTIONS", "/llmpool.v1.LLMPool/Chat", {
      origin: "https://evil.example",
      "access-control-request-method": "POST",
    });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("rejects requests over max_request_bytes", async () => {
    const big = "x".repeat(100 * 1024);
    const err = await s.grpc.chat({ messages: [user(big)] }).catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
  });

  it("supports reflection: buf curl lists services and calls with no proto file", async () => {
    const buf = "node_modules/.bin/buf";
    const list = await exec(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", s.url]);
    expect(list.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "llmpool.v1.LLMPool",
    ]);
    for (const protocol of ["grpc", "connect", "grpcweb"]) {
      const out = await exec(buf, [
        "curl",
        "--protocol",
        protocol,
        "--http2-prior-knowledge",
        "--reflect-protocol",
        "grpc-v1",
        "-d",
        JSON.stringify({ messages: [{ role: "user", content: `via ${protocol}` }] }),
        `${s.url}/llmpool.v1.LLMPool/Chat`,
      ]);
      expect(JSON.parse(out.stdout).message.content).toMatch(new RegExp(`: via ${protocol}$`));
    }
    const v1alpha = await exec(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", "grpc-v1alpha", "--list-methods", s.url]);
    expect(v1alpha.stdout).toContain("llmpool.v1.LLMPool/StreamChat");
  }, 60_000);

  it("closes an idle raw HTTP/2 session cleanly", async () => {
    const session = http2.connect(s.url);
    await new Promise<void>((resolve, reject) => {
      const req = session.request({ ":method": "GET", ":path": "/healthz" });
      req.on("response", (h) => {
        expect(h[":status"]).toBe(200);
      });
      req.resume();
      req.on("end", resolve);
      req.on("error", reject);
    });
    session.close();
  });
});

describe("gateway auth", () => {
  let a: TestServer;
  beforeAll(async () => {
    a = await startServer({
      server: { auth: { api_keys: ["gw-key-0123456789"] } },
      providers: [{ name: "m", type: "mock", models: ["mock"], mock: { latency_ms: 0 } }],
    });
  });
  afterAll(() => a.close());

  it("requires a valid key for LLMPool RPCs but not for health or reflection", async () => {
    await expect(a.grpc.chat({ messages: [user("x")] })).rejects.toMatchObject({ code: Code.Unauthenticated, rawMessage: "missing API key: send authorization: Bearer <key>" });
    await expect(a.grpc.chat({ messages: [user("x")] }, { headers: { authorization: "Bearer wrong-key-000" } })).rejects.toMatchObject({
      code: Code.Unauthenticated,
      rawMessage: "invalid API key",
    });
    expect((await a.grpc.chat({ messages: [user("x")] }, { headers: { authorization: "Bearer gw-key-0123456789" } })).provider).toBe("m");
    expect((await a.connect.chat({ messages: [user("x")] }, { headers: { "x-api-key": "gw-key-0123456789" } })).provider).toBe("m");
    const health = createClient(Health, createGrpcTransport({ baseUrl: a.url }));
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});
