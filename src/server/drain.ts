/**
 * Connection bookkeeping for graceful shutdown. The HTTP/1.1 server behind the sniffing
 * listener never listens itself, so Node's closeIdleConnections() cannot see its sockets;
 * this tracks them (and HTTP/2 sessions) so a drain can close idle connections at once, close
 * busy ones as soon as their response ends, and destroy whatever is left at the deadline.
 */
import type { Http2Session } from "node:http2";
import type { Server } from "node:net";
import type { Socket } from "node:net";
import type { Req, Res } from "./http.js";

export class ConnectionTracker {
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  /** HTTP/1 sockets -> responses in progress. */
  private readonly h1 = new Map<Socket, number>();
  private draining = false;

  /** Watch a listening server's raw connections. */
  watchServer(server: Server): void {
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
    });
  }

  watchSession(session: Http2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    if (this.draining) session.close();
  }

  /** Call for every request; tracks HTTP/1 responses in progress. */
  onRequest(req: Req, res: Res): void {
    if (req.httpVersionMajor !== 1) return;
    const s = req.socket as Socket;
    if (!this.h1.has(s)) s.once("close", () => this.h1.delete(s));
    this.h1.set(s, (this.h1.get(s) ?? 0) + 1);
    if (this.draining) res.setHeader("connection", "close");
    res.once("close", () => {
      const n = (this.h1.get(s) ?? 1) - 1;
      this.h1.set(s, n);
      if (n === 0 && this.draining) s.end();
    });
  }

  /** Begin draining: GOAWAY to HTTP/2 sessions, close idle HTTP/1 connections. */
  drain(): void {
    this.draining = true;
    for (const s of this.sessions) s.close();
    for (const [s, n] of this.h1) if (n === 0) s.end();
  }

  /** Force everything closed. */
  destroyAll(): void {
    for (const s of this.sessions) s.destroy();
    for (const s of this.h1.keys()) s.destroy();
    for (const s of this.sockets) s.destroy();
  }
}
