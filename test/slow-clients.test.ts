/**
 * Issue 12, slow and greedy clients: half-sent headers, half-open HTTP/2 streams, idle
 * sessions and connection floods are closed on small configured timeouts; the caller's
 * deadline covers reading the request; auth is checked before any body byte is read; HTTP/2
 * sessions advertise a bounded max_concurrent_streams.
 */
import http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { harness } from "./helpers/harness.js";

const h = harness();
const mock = (extra: Record<string, unknown> = {}) => ({ name: "m", type: "mock", models: ["mock"], mock: { latency_ms: 0, ...extra } });
const timeouts = { headers_ms: 300, body_ms: 300, idle_ms: 400 };

/** Resolves with ms from now until the socket closes. */
function closedAfter(sock: Socket): Promise<number> {
  const t0 = performance.now();
  return new Promise((r) => sock.once("close", () => r(performance.now() - t0)));
}

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Read what arrives, as a real client does: Node's own header check answers 408 before it
    // closes, and an unread socket never ends, so it would never report the close.
    const s = connect(port, "127.0.0.1", () => resolve(s)).resume();
    s.on("error", reject);
  });
}

function h2(url: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(url);
    s.once("remoteSettings", () => resolve(s));
    s.once("error", reject);
  });
}

/** Open a stream, send headers and part of a gRPC message, never end it; resolves with the response headers. */
function halfOpen(session: http2.ClientHttp2Session, path: string, extra: Record<string, string> = {}) {
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extra });
  stream.write(Buffer.from([0, 0, 0, 0, 100, 10, 3])); // promises 100 bytes, sends 2
  const t0 = performance.now();
  const headers = new Promise<{ headers: http2.IncomingHttpHeaders; ms: number }>((r) => stream.once("response", (hd) => r({ headers: hd, ms: performance.now() - t0 })));
  const closed = new Promise<number>((r) => stream.once("close", () => r(performance.now() - t0)));
  stream.on("error", () => {});
  return { stream, headers, closed };
}

describe("slow clients", () => {
  it("closes an HTTP/1.1 connection whose headers never finish after headers_ms", async () => {
    const s = await h.serve({ server: { timeouts }, providers: [mock()] });
    const sock = await rawSocket(s.port);
    sock.on("error", () => {});
    sock.write("POST /llmpool.v1.LLMPool/Chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n");
    const ms = await closedAfter(sock);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(3000);
  });

  it("closes a connection that sends nothing after headers_ms", async () => {
    const s = await h.serve({ server: { timeouts }, providers: [mock()] });
    const sock = await rawSocket(s.port);
    const ms = await closedAfter(sock);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(3000);
  });

  it("lets an HTTP/1.1 call run past headers_ms + idle_ms, then closes its connection once idle", async () => {
    const s = await h.serve({ server: { timeouts }, providers: [mock({ latency_ms: 900 })] });
    const sock = await rawSocket(s.port);
    const body = JSON.stringify({ model: "mock", messages: [{ role: "user", content: "hi" }] });
    sock.write(`POST /llmpool.v1.LLMPool/Chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    let answer = "";
    const answered = new Promise<void>((r) => sock.on("data", (c: Buffer) => ((answer += c), answer.includes('"provider":"m"') && r())));
    const closed = closedAfter(sock);
    // 900 ms of silence on a connection whose header timer is 300 ms: answered, not closed.
    expect(await Promise.race([answered.then(() => "answered"), closed.then(() => "closed")])).toBe("answered");
    expect(answer.startsWith("HTTP/1.1 200")).toBe(true);
    const t0 = performance.now();
    await closed;
    const idleMs = performance.now() - t0;
    expect(idleMs).toBeGreaterThanOrEqual(250);
    expect(idleMs).toBeLessThan(3000);
  });

  it("answers a half-open HTTP/2 stream with DEADLINE_EXCEEDED after body_ms and resets it", async () => {
    const s = await h.serve({ server: { timeouts: { ...timeouts, idle_ms: 60_000 } }, providers: [mock()] });
    const session = await h2(s.url);
    h.cleanup.push(async () => void session.destroy());
    for (const path of ["/llmpool.v1.LLMPool/Chat", "/llmpool.v1.LLMPool/GetPoolStats"]) {
      const call = halfOpen(session, path);
      const { headers, ms } = await call.headers;
      expect(headers["grpc-status"]).toBe("4");
      expect(String(headers["grpc-message"])).toContain("server.timeouts.body_ms");
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(await call.closed).toBeLessThan(3000);
    }
  });

  it("the caller's deadline covers reading the request", async () => {
    const s = await h.serve({ server: { timeouts: { ...timeouts, body_ms: 30_000, idle_ms: 60_000 } }, providers: [mock()] });
    const session = await h2(s.url);
    h.cleanup.push(async () => void session.destroy());
    for (const path of ["/llmpool.v1.LLMPool/Chat", "/llmpool.v1.LLMPool/GetPoolStats"]) {
      const call = halfOpen(session, path, { "grpc-timeout": "200m" });
      const { headers } = await call.headers;
      expect(headers["grpc-status"]).toBe("4");
      expect(await call.closed).toBeLessThan(3000);
    }
  });

  it("refuses a call without a key before reading its body, on every path", async () => {
    const s = await h.serve({ server: { auth: { api_keys: ["gateway-key-0123456789"] }, timeouts: { headers_ms: 10_000, body_ms: 30_000, idle_ms: 60_000 } }, providers: [mock()] });
    const session = await h2(s.url);
    h.cleanup.push(async () => void session.destroy());
    for (const path of ["/llmpool.v1.LLMPool/Chat", "/llmpool.v1.LLMPool/GetPoolStats", "/llmpool.v1.LLMPool/ListModels"]) {
      const call = halfOpen(session, path);
      const { headers, ms } = await call.headers;
      expect(headers["grpc-status"]).toBe("16");
      expect(ms).toBeLessThan(2000); // not body_ms
      expect(await call.closed).toBeLessThan(2000);
    }
    // HTTP/1.1 Connect: the same, and the connection is closed rather than drained.
    const sock = await rawSocket(s.port);
    const data: Buffer[] = [];
    sock.on("data", (d) => data.push(d));
    sock.write("POST /llmpool.v1.LLMPool/GetPoolStats HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"pro");
    expect(await closedAfter(sock)).toBeLessThan(2000);
    const text = Buffer.concat(data).toString();
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    expect(text).toContain('"code":"unauthenticated"');
  });

  it("refuses a declared body past max_request_bytes before reading it", async () => {
    const s = await h.serve({ server: { max_request_bytes: 1024 }, providers: [mock()] });
    const sock = await rawSocket(s.port);
    const data: Buffer[] = [];
    sock.on("data", (d) => data.push(d));
    sock.write("POST /llmpool.v1.LLMPool/Chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500000000\r\n\r\n");
    expect(await closedAfter(sock)).toBeLessThan(2000);
    const text = Buffer.concat(data).toString();
    expect(text).toMatch(/^HTTP\/1\.1 429/);
    expect(text).toContain("server.max_request_bytes");
  });

  it("advertises a bounded max_concurrent_streams (256 by default, or as configured)", async () => {
    const a = await h.serve({ providers: [mock()] });
    const sa = await h2(a.url);
    expect(sa.remoteSettings.maxConcurrentStreams).toBe(256);
    sa.destroy();
    const b = await h.serve({ server: { max_concurrent_streams: 8 }, providers: [mock()] });
    const sb = await h2(b.url);
    expect(sb.remoteSettings.maxConcurrentStreams).toBe(8);
    sb.destroy();
  });

  it("closes an idle HTTP/2 session after idle_ms, but not one with a slow call in flight", async () => {
    const s = await h.serve({ server: { timeouts }, providers: [mock({ latency_ms: 900 })] });
    // A slow call (900 ms of silence, longer than idle_ms) completes.
    const res = await s.grpc.chat({ model: "mock", messages: [{ role: "user", content: "hi" }] });
    expect(res.provider).toBe("m");
    // Then a session that opens no stream is sent away.
    const session = await h2(s.url);
    const t0 = performance.now();
    await new Promise<void>((r) => session.once("goaway", () => r()));
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(200);
    expect(ms).toBeLessThan(3000);
    session.destroy();
  });

  it("caps open connections at max_connections", async () => {
    const s = await h.serve({ server: { max_connections: 2 }, providers: [mock()] });
    const kept = [await rawSocket(s.port), await rawSocket(s.port)];
    const third = await rawSocket(s.port);
    third.on("error", () => {});
    expect(await closedAfter(third)).toBeLessThan(2000);
    for (const k of kept) k.destroy();
    // Room again once they are gone.
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
  });
});
