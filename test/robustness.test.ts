/**
 * Hostile and broken input never takes the server down: malformed envelopes, bodies that are
 * not JSON or protobuf, wrong types, truncated frames, clients that vanish mid-request. After
 * each volley the server still answers a normal call.
 */
import http2 from "node:http2";
import { request as h1request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, user, type TestServer } from "./helpers/server.js";

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ providers: [{ name: "m", type: "mock", models: ["mock"], mock: { latency_ms: 5, chunk_delay_ms: 5 } }] });
});
afterAll(() => s.close());

const stillServing = async () => expect((await s.grpc.chat({ messages: [user("ok?")] })).provider).toBe("m");

function h1(path: string, headers: Record<string, string>, body: Buffer | string): Promise<number> {
  return new Promise((resolve) => {
    const req = h1request({ host: "127.0.0.1", port: s.port, method: "POST", path, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", () => resolve(-1));
    req.end(body);
  });
}

function h2(path: string, headers: Record<string, string>, body: Buffer, opts: { reset?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const session = http2.connect(s.url);
    session.on("error", () => resolve("session-error"));
    const req = session.request({ ":method": "POST", ":path": path, ...headers });
    let status = "";
    req.on("response", (h) => (status = String(h["grpc-status"] ?? h[":status"])));
    req.on("trailers", (t) => (status = String(t["grpc-status"])));
    req.on("error", () => undefined);
    req.on("close", () => {
      session.close();
      resolve(status || "closed");
    });
    req.resume();
    if (opts.reset) {
      req.write(body.subarray(0, 3));
      setImmediate(() => req.close(http2.constants.NGHTTP2_CANCEL));
    } else req.end(body);
  });
}

const frame = (payload: Buffer, flags = 0, len = payload.length) => {
  const b = Buffer.alloc(5 + payload.length);
  b[0] = flags;
  b.writeUInt32BE(len, 1);
  payload.copy(b, 5);
  return b;
};

describe("hostile input", () => {
  it("answers garbage over Connect with 4xx, never a crash", async () => {
    const bodies = ["", "{", "null", "[]", '{"messages":null}', '{"messages":[{"role":5}]}', '{"temperature":"hot","messages":[]}', "\u0000\u0001\u0002", "x".repeat(70_000)];
    for (const body of bodies) {
      for (const ct of ["application/json", "application/proto"]) {
        const status = await h1("/llmpool.v1.LLMPool/Chat", { "content-type": ct }, body);
        expect([400, 408, 413, 415, 429], `${ct} ${JSON.stringify(body.slice(0, 20))}`).toContain(status);
      }
    }
    expect(await h1("/llmpool.v1.LLMPool/StreamChat", { "content-type": "application/connect+json" }, Buffer.from([0, 0, 0, 0, 99, 1]))).toBe(200);
    await stillServing();
  });

  it("answers malformed gRPC frames with a gRPC status, never a crash", async () => {
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from([0, 0]),
      frame(Buffer.from("not protobuf at all \xff\xfe")),
      frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])),
      frame(Buffer.alloc(3), 1),
      frame(Buffer.alloc(3), 0, 1000),
      Buffer.concat([frame(Buffer.alloc(0)), frame(Buffer.alloc(0))]),
    ];
    for (const [i, body] of cases.entries()) {
      for (const path of ["/llmpool.v1.LLMPool/Chat", "/llmpool.v1.LLMPool/StreamChat"]) {
        const status = await h2(path, { "content-type": "application/grpc", te: "trailers" }, body);
        expect(["3", "8", "13"], `case ${i} ${path}`).toContain(status);
      }
    }
    await stillServing();
  });

  it("survives clients that reset streams or drop connections mid-request", async () => {
    const body = frame(Buffer.from([0x12, 0x04, 0x0a, 0x02, 0x68, 0x69]));
    await Promise.all(Array.from({ length: 20 }, () => h2("/llmpool.v1.LLMPool/StreamChat", { "content-type": "application/grpc" }, body, { reset: true })));
    await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<void>((resolve) => {
            const sock = connect(s.port, "127.0.0.1", () => {
              sock.write("POST /llmpool.v1.LLMPool/Chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"messa");
              sock.destroy();
              resolve();
            });
            sock.on("error", () => resolve());
          }),
      ),
    );
    // A client that speaks the HTTP/2 preface and then garbage: the server ends the connection.
    const junk = connect(s.port, "127.0.0.1", () => junk.end("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nthis is not a settings frame"));
    junk.on("error", () => undefined);
    junk.resume();
    await new Promise((r) => junk.on("close", r));
    await stillServing();
  });
});
