/**
 * Connection bookkeeping for graceful shutdown. The HTTP/1.1 server behind the sniffing
 * listener never listens itself, so Node's closeIdleConnections() cannot see its sockets;
 * this tracks them (and HTTP/2 sessions) so a drain can close idle connections at once, close
 * busy ones as soon as their response ends, and destroy whatever is left at the deadline.
 */
import { constants as http2constants, type Http2ServerRequest, type Http2Session } from "node:http2";
import type { Server } from "node:net";
import type { Socket } from "node:net";
import type { Req, Res } from "./http.js";

const TRACKED = Symbol("llmpool.tracked-response");

/** One response's bookkeeping, kept on the response under TRACKED. */
interface Tracked {
  readonly tracker: ConnectionTracker;
  readonly req: Req;
  done: boolean;
  /** The HTTP/1 connection it counts against. */
  readonly socket: Socket | undefined;
}

function trackedOf(res: unknown): Tracked {
  return (res as Record<symbol, Tracked>)[TRACKED]!;
}

export class ConnectionTracker {
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  /** HTTP/1 sockets -> responses in progress. */
  private readonly h1 = new Map<Socket, number>();
  private draining = false;
  /** Responses (any protocol) not yet ended. */
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  /** HTTP/2 streams whose response ended while the client still sends a body nobody reads. */
  private readonly unread = new Set<Http2ServerRequest>();

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

  /** Responses in progress. */
  get inProgress(): number {
    return this.active;
  }

  /** Resolves once no response is in progress (the last one fully written or aborted). */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Call for every request; tracks responses in progress (and HTTP/1 sockets' share). */
  onRequest(req: Req, res: Res): void {
    this.active++;
    const h1 = req.httpVersionMajor === 1;
    const tracked: Tracked = { tracker: this, req, done: false, socket: h1 ? (req.socket as Socket) : undefined };
    (res as unknown as Record<symbol, Tracked>)[TRACKED] = tracked;
    // Shared listeners, not per-call closures or a wrapped res.end (a function stored on each
    // response kept every call's objects alive through young-generation GCs: bench/RESULTS.md
    // "Third pass"). 'finish' comes once the response is handed to the connection, on HTTP/2
    // too while the client keeps its side open; 'close' when the stream went away first.
    res.on("finish", ConnectionTracker.onFinish);
    res.on("close", ConnectionTracker.onClose);
    if (!h1) return;
    const s = tracked.socket!;
    const n = this.h1.get(s);
    if (n === undefined) s.once("close", () => this.h1.delete(s));
    this.h1.set(s, (n ?? 0) + 1);
    if (this.draining) res.setHeader("connection", "close");
  }

  private static onFinish(this: Res): void {
    const t = trackedOf(this);
    t.tracker.responseDone(t, false);
  }

  private static onClose(this: Res): void {
    const t = trackedOf(this);
    t.tracker.responseDone(t, true);
  }

  /** A response ended (finish) or went away (close, then `closed`). */
  private responseDone(t: Tracked, closed: boolean): void {
    if (!t.done) {
      t.done = true;
      if (--this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
      const req = t.req;
      if (!closed && req.httpVersionMajor === 2 && !req.complete) this.unreadBody(req as Http2ServerRequest);
    }
    const s = t.socket;
    if (!closed || !s) return;
    const n = (this.h1.get(s) ?? 1) - 1;
    this.h1.set(s, n);
    if (n === 0 && this.draining) s.end();
  }

  /** Begin draining: GOAWAY to HTTP/2 sessions, close idle HTTP/1 connections. */
  drain(): void {
    this.draining = true;
    for (const req of this.unread) this.endUnread(req);
    for (const s of this.sessions) s.close();
    for (const [s, n] of this.h1) if (n === 0) s.end();
  }

  /**
   * A complete response while the client still sends a body nobody will read (a request
   * refused as too large): while draining, end the stream with NO_ERROR, as RFC 9113 §8.1
   * allows, so it does not hold its connection open.
   */
  private unreadBody(req: Http2ServerRequest): void {
    this.unread.add(req);
    req.stream.once("close", () => this.unread.delete(req));
    if (this.draining) setImmediate(() => this.endUnread(req));
  }

  private endUnread(req: Http2ServerRequest): void {
    this.unread.delete(req);
    if (!req.stream.closed) req.stream.close(http2constants.NGHTTP2_NO_ERROR);
  }

  /** Force everything closed. */
  destroyAll(): void {
    for (const s of this.sessions) s.destroy();
    for (const s of this.h1.keys()) s.destroy();
    for (const s of this.sockets) s.destroy();
  }
}
