/**
 * The HTTP/1.1 header guard on its own, with Node's headersTimeout/requestTimeout turned off:
 * test/slow-clients.test.ts runs the whole server, where either mechanism may close first.
 */
import http from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { guardHeaders } from "./slow-clients.js";

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function guarded(headersMs: number, idleMs: number): Promise<number> {
  const server = http.createServer({ headersTimeout: 0, requestTimeout: 0, keepAliveTimeout: 0 }, (_req, res) => res.end("ok"));
  guardHeaders(server, headersMs, idleMs);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** A client socket and everything it has read; `closed` resolves when the server drops it. */
async function client(port: number) {
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s)).once("error", reject);
  });
  closers.push(() => sock.destroy());
  let read = "";
  sock.on("data", (d: Buffer) => (read += d));
  const closed = new Promise<void>((r) => sock.once("close", () => r()));
  return { sock, closed, read: () => read };
}

describe("guardHeaders", () => {
  it("closes a connection whose headers never finish, without an answer", { timeout: 5000 }, async () => {
    const c = await client(await guarded(100, 100));
    c.sock.write("GET / HTTP/1.1\r\nhost: x\r\n");
    await c.closed;
    expect(c.read()).toBe("");
  });

  it("answers a request, then closes the connection once it sits idle", { timeout: 5000 }, async () => {
    const c = await client(await guarded(100, 100));
    const answered = new Promise<void>((r) => c.sock.on("data", () => c.read().includes("ok") && r()));
    c.sock.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    await answered;
    expect(c.read()).toMatch(/^HTTP\/1\.1 200/);
    await c.closed;
  });
});
