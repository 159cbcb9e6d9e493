/**
 * Backpressure end to end: a client that stops reading a stream must make the gateway stop
 * reading the upstream, so the upstream's writes stall and the gateway holds a bounded amount
 * of the answer, not all of it. Measured by the upstream's write stalls and byte counts, never
 * by time: the pipeline counts as settled when many event-loop turns pass with the upstream
 * stalled and no byte moving (upstream, gateway and client share this process's loop, so any
 * reading the gateway still did would show up as progress). Then the client resumes and the
 * whole answer must arrive, in order.
 */
import http from "node:http";
import http2 from "node:http2";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { openaiProvider, startServer, type TestServer } from "./helpers/server.js";

/** Chunks in the answer and text per chunk: 64 MB of deltas, far above any socket buffers. */
const CHUNKS = 16_384;
const TEXT = "x".repeat(4096 - 8);
/** The gateway may hold at most this much of the answer ahead of the client (sockets included). */
const BOUND = 32 * 1024 * 1024;

interface Upstream {
  url: string;
  written: number;
  stalled: boolean;
  stalls: number;
  finished: boolean;
  /** Resolves at the next stall. */
  nextStall(): Promise<void>;
  close(): Promise<void>;
}

async function startStreamingUpstream(): Promise<Upstream> {
  let onStall: (() => void) | undefined;
  const up: Upstream = {
    url: "",
    written: 0,
    stalled: false,
    stalls: 0,
    finished: false,
    nextStall: () => new Promise<void>((r) => (onStall = r)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (let i = 0; i < CHUNKS; i++) {
        const chunk = `data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"${String(i).padStart(8, "0")}${TEXT}"},"finish_reason":null}]}\n\n`;
        up.written += chunk.length;
        if (!res.write(chunk)) {
          up.stalled = true;
          up.stalls++;
          onStall?.();
          await new Promise<void>((resume) => {
            const go = () => {
              res.off("drain", go);
              res.off("close", go);
              resume();
            };
            res.on("drain", go);
            res.on("close", go);
          });
          up.stalled = false;
          if (res.destroyed) return;
        }
      }
      res.end(`data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`);
      up.finished = true;
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return up;
}

/** Wait until the upstream is stalled and stays so, bytes unmoved, for many loop turns. */
async function settled(up: Upstream, received: () => number): Promise<void> {
  for (;;) {
    if (!up.stalled) await up.nextStall();
    const w = up.written;
    const r = received();
    let still = true;
    for (let turn = 0; turn < 500 && still; turn++) {
      await new Promise((res) => setImmediate(res));
      still = up.stalled && up.written === w && received() === r;
    }
    if (still) return;
    if (up.finished) throw new Error("the upstream wrote the whole answer while the client was not reading");
  }
}

/** Delta numbers (the 8-digit prefix of each chunk's text) in the order received. */
function order(text: string): number[] {
  return [...text.matchAll(/(\d{8})x/g)].map((m) => Number(m[1]));
}

let s: TestServer;
let up: Upstream;

beforeAll(async () => {
  up = await startStreamingUpstream();
  s = await startServer({
    providers: [openaiProvider("big", up.url, { models: ["big"], timeout_ms: 120_000 })],
    pool: { default_model: "big", max_retries: 0 },
  });
});
afterAll(async () => {
  await s?.close();
  await up?.close();
});

function frame(json: unknown): Buffer {
  const b = Buffer.from(JSON.stringify(json));
  const out = Buffer.alloc(5 + b.length);
  out.writeUInt32BE(b.length, 1);
  b.copy(out, 5);
  return out;
}

describe("a slow client makes the gateway stop reading the upstream", () => {
  it("Connect streaming over HTTP/1.1", async () => {
    up.written = 0;
    up.finished = false;
    let received = 0;
    const parts: Buffer[] = [];
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${s.url}/llmpool.v1.LLMPool/StreamChat`, { method: "POST", headers: { "content-type": "application/connect+json" } }, resolve);
      req.on("error", reject);
      req.end(frame({ model: "big", messages: [{ role: "user", content: "go" }] }));
    });
    expect(res.statusCode).toBe(200);
    res.pause(); // paused explicitly, so the 'data' listener below does not start the flow
    res.on("data", (c: Buffer) => {
      received += c.length;
      parts.push(c);
    });

    await settled(up, () => received);
    expect(up.finished).toBe(false);
    expect(up.written - received).toBeLessThan(BOUND);

    res.resume();
    await once(res, "end");
    expect(up.finished).toBe(true);
    const text = Buffer.concat(parts).toString("latin1");
    const seq = order(text);
    expect(seq.length).toBe(CHUNKS);
    expect(seq.every((n, i) => n === i)).toBe(true);
    expect(text).toContain('"finishReason":"stop"');
  });

  it("gRPC over HTTP/2", async () => {
    up.written = 0;
    up.finished = false;
    const session = http2.connect(s.url);
    try {
      const body = toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "big", messages: [{ role: "user", content: "go" }] }));
      const env = Buffer.alloc(5 + body.length);
      env.writeUInt32BE(body.length, 1);
      env.set(body, 5);
      const stream = session.request({ ":method": "POST", ":path": "/llmpool.v1.LLMPool/StreamChat", "content-type": "application/grpc", te: "trailers" });
      stream.end(env);
      let received = 0;
      const parts: Buffer[] = [];
      stream.on("data", (c: Buffer) => {
        received += c.length;
        parts.push(c);
      });
      stream.pause();
      const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
      expect(headers[":status"]).toBe(200);

      await settled(up, () => received);
      expect(up.finished).toBe(false);
      expect(up.written - received).toBeLessThan(BOUND);

      const trailers = once(stream, "trailers");
      stream.resume();
      await once(stream, "end");
      expect(((await trailers)[0] as http2.IncomingHttpHeaders)["grpc-status"]).toBe("0");
      expect(up.finished).toBe(true);
      const seq = order(Buffer.concat(parts).toString("latin1"));
      expect(seq.length).toBe(CHUNKS);
      expect(seq.every((n, i) => n === i)).toBe(true);
    } finally {
      session.close();
    }
  });
});
