/**
 * Optional TLS (server.tls): HTTP/2 by ALPN for gRPC, HTTP/1.1 for Connect, on one port.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";
import { startServer, user, type TestServer } from "./helpers/server.js";

const dir = mkdtempSync(join(tmpdir(), "llmpool-tls-"));
const cert = join(dir, "cert.pem");
const key = join(dir, "key.pem");
let s: TestServer;
let ca: Buffer;

beforeAll(async () => {
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stdio: "ignore" });
  ca = readFileSync(cert);
  s = await startServer({
    server: { tls: { cert_file: cert, key_file: key } },
    providers: [{ name: "m", type: "mock", models: ["mock"], mock: { latency_ms: 0, reply: "secure {prompt}" } }],
  });
});
afterAll(() => s.close());

describe("TLS", () => {
  it("serves gRPC over HTTP/2 and Connect over HTTP/1.1 on the TLS port", async () => {
    const base = `https://127.0.0.1:${s.port}`;
    const grpc = createClient(LLMPool, createGrpcTransport({ baseUrl: base, nodeOptions: { ca } }));
    expect((await grpc.chat({ messages: [user("hi")] })).message?.content).toBe("secure hi");
    let text = "";
    for await (const c of grpc.streamChat({ messages: [user("a b")] })) text += c.delta;
    expect(text).toBe("secure a b");
    const connect = createClient(LLMPool, createConnectTransport({ baseUrl: base, httpVersion: "1.1", nodeOptions: { ca } }));
    expect((await connect.chat({ messages: [user("yo")] })).message?.content).toBe("secure yo");
    const res = await new Promise<number>((resolve, reject) => {
      import("node:https").then(({ get }) =>
        get(`${base}/healthz`, { ca }, (r) => {
          r.resume();
          resolve(r.statusCode!);
        }).on("error", reject),
      );
    });
    expect(res).toBe(200);
  });
});
