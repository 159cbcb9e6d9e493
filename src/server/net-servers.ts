/**
 * The sockets behind the one port: with `server.tls`, one HTTP/2 server that also speaks
 * HTTP/1.1 (ALPN); without it, an HTTP/1.1 and an HTTP/2 server fed by the preface-sniffing
 * listener (listener.ts). Both get the slow-client timeouts (slow-clients.ts), the stream cap
 * and the connection cap. `server.ollama_port` adds a plain HTTP/1.1 listener for the same
 * handler, as Ollama clients speak it.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import http2, { type Http2Session } from "node:http2";
import type { AddressInfo, Server as NetServer } from "node:net";
import type { ServerConfig } from "../config/schema.js";
import type { ConnectionTracker } from "./drain.js";
import type { Req, Res } from "./http.js";
import { createSniffingServer } from "./listener.js";
import { guardHeaders, watchIdleSession } from "./slow-clients.js";

export interface NetServers {
  netServer: NetServer;
  ollamaServer?: http.Server;
}

export function createNetServers(cfg: ServerConfig, handler: (req: Req, res: Res) => void, tracker: ConnectionTracker): NetServers {
  let netServer: NetServer;
  const { tls, timeouts, max_concurrent_streams: maxStreams } = cfg;
  const onSession = (s: Http2Session) => {
    tracker.watchSession(s);
    // idle_ms before the first stream too: clients such as grpc-js connect ahead of their
    // first call, and the preface itself was already held to headers_ms (listener.ts).
    watchIdleSession(s, timeouts.idle_ms, timeouts.idle_ms);
  };
  if (tls) {
    const secure = http2.createSecureServer(
      { allowHTTP1: true, cert: readFileSync(tls.cert_file), key: readFileSync(tls.key_file), settings: { maxConcurrentStreams: maxStreams } },
      handler,
    );
    secure.on("session", onSession);
    netServer = secure;
  } else {
    const h1 = http.createServer(
      {
        keepAliveTimeout: timeouts.idle_ms,
        headersTimeout: timeouts.headers_ms,
        // Headers and body together; the body alone is also held to body_ms (slow-clients.ts).
        requestTimeout: timeouts.headers_ms + timeouts.body_ms,
        // How often Node checks those two; its 30 s default would let small limits overrun.
        connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(timeouts.headers_ms / 4))),
      },
      handler,
    );
    // h1 never listens itself (the sniffing server hands it sockets), so start the timer
    // that enforces headersTimeout/requestTimeout the way its own listen() would.
    h1.emit("listening");
    guardHeaders(h1, timeouts.headers_ms, timeouts.idle_ms);
    const h2 = http2.createServer({ settings: { maxConcurrentStreams: maxStreams } }, handler);
    h2.on("session", onSession);
    netServer = createSniffingServer(h1, h2, timeouts.headers_ms);
    netServer.once("close", () => h1.close(() => {}));
  }
  if (cfg.max_connections > 0) netServer.maxConnections = cfg.max_connections;
  tracker.watchServer(netServer);
  let ollamaServer: http.Server | undefined;
  if (cfg.ollama_port !== undefined) {
    ollamaServer = http.createServer(
      { keepAliveTimeout: timeouts.idle_ms, headersTimeout: timeouts.headers_ms, requestTimeout: timeouts.headers_ms + timeouts.body_ms },
      handler,
    );
    tracker.watchServer(ollamaServer);
  }
  return { netServer, ollamaServer };
}

export function bind(srv: NetServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, host, () => {
      srv.off("error", reject);
      resolve(srv.address() as AddressInfo);
    });
  });
}
