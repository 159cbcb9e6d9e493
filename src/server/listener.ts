/**
 * One cleartext port for every client: a net.Server reads the first bytes of each connection
 * and hands the socket to the HTTP/2 server when they are the HTTP/2 connection preface
 * (gRPC over h2c, Connect and gRPC-Web over h2c) and to the HTTP/1.1 server otherwise
 * (Connect, gRPC-Web, curl, browsers, /metrics).
 */
import type { Server as HttpServer } from "node:http";
import type { Http2Server } from "node:http2";
import { createServer, type Server, type Socket } from "node:net";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * @param sniffTimeoutMs a connection that has not sent enough to be classified within this
 *   is dropped (server.timeouts.headers_ms).
 */
export function createSniffingServer(h1: HttpServer, h2: Http2Server, sniffTimeoutMs = 10_000): Server {
  return createServer({ noDelay: true, keepAlive: true }, (socket: Socket) => {
    let seen: Buffer = Buffer.alloc(0);
    socket.setTimeout(sniffTimeoutMs, () => socket.destroy());
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const isH2Prefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2Prefix && seen.length < PREFACE.length) return; // need more bytes to decide
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(seen);
      if (isH2Prefix) {
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    const onError = () => socket.destroy();
    socket.on("data", onData);
    socket.on("error", onError);
  });
}
