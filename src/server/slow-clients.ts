/**
 * Defences against clients that hold resources without using them (README "Security"):
 *  - a request body must arrive within `server.timeouts.body_ms` of its headers, and within
 *    the caller's own deadline (grpc-timeout / connect-timeout-ms), on HTTP/1.1 and HTTP/2
 *    alike; a half-sent body gets a DEADLINE_EXCEEDED reply and its stream is reset;
 *  - an HTTP/2 session with no open stream is closed after `idle_ms`, while a session with a long call in flight is left alone: Node's own
 *    session timeout counts any silence, which would cut a slow LLM call.
 *  - an HTTP/1.1 connection must deliver a request's headers within `headers_ms` (the next
 *    request's: within `idle_ms + headers_ms` of the last response), or it is closed.
 * Node's own headersTimeout/requestTimeout/keepAliveTimeout are set too (server.ts), but its
 * check does not see sockets handed over by another server in every runtime, so the header
 * deadline is also kept here, where it is certain.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Http2Session } from "node:http2";
import type { Socket } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";
import { replyEarly } from "./early-reply.js";
import type { Req, Res } from "./http.js";

/** The caller's deadline in ms from its headers (gRPC or Connect), if any and valid. */
function callerDeadlineMs(req: Req, maxMs: number): number | undefined {
  const g = req.headers["grpc-timeout"];
  if (typeof g === "string") return parseGrpcTimeout(g, maxMs).timeoutMs;
  const c = req.headers["connect-timeout-ms"];
  if (typeof c === "string") return parseConnectTimeout(c, maxMs).timeoutMs;
  return undefined;
}

const BODY_TIMER = Symbol("llmpool.body-timer");
const HEADER_GUARD = Symbol("llmpool.header-guard");
type WithBodyTimer = { [BODY_TIMER]?: NodeJS.Timeout };

/** Shared by every request (no closure per call): `this` is the request or the response. */
function clearBodyTimer(this: WithBodyTimer): void {
  clearTimeout(this[BODY_TIMER]);
}

function bodyLate(req: Req, res: Res, byDeadline: boolean, bodyMs: number): void {
  if (req.complete || res.destroyed) return;
  const err = byDeadline
    ? new ConnectError("the operation timed out: the request was not received within the caller's deadline", Code.DeadlineExceeded)
    : new ConnectError(`the request body was not received within server.timeouts.body_ms (${bodyMs} ms)`, Code.DeadlineExceeded);
  replyEarly(req, res, err);
}

/**
 * Arm the body timer of one request. Nothing is armed for body-less methods; the timer is
 * dropped as soon as the body has arrived or the response is done.
 */
export function guardBody(req: Req, res: Res, bodyMs: number, maxTimeoutMs: number): void {
  const m = req.method;
  if (m === "GET" || m === "HEAD" || m === "OPTIONS" || req.complete) return;
  const deadline = callerDeadlineMs(req, maxTimeoutMs);
  const byDeadline = deadline !== undefined && deadline < bodyMs;
  const timer = setTimeout(bodyLate, byDeadline ? deadline : bodyMs, req, res, byDeadline, bodyMs);
  (req as WithBodyTimer)[BODY_TIMER] = timer;
  (res as WithBodyTimer)[BODY_TIMER] = timer;
  req.on("end", clearBodyTimer);
  res.on("close", clearBodyTimer);
}

/** Close `session` (GOAWAY) after `firstMs` without a stream, then `idleMs` with none open. */
export function watchIdleSession(session: Http2Session, firstMs: number, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined = setTimeout(expire, firstMs);
  function expire() {
    timer = undefined;
    if (open === 0 && !session.closed && !session.destroyed) {
      session.close();
      // A peer that ignores GOAWAY and keeps the socket open is cut after one more period.
      setTimeout(() => session.destroy(), idleMs).unref();
    }
  }
  session.on("stream", (stream) => {
    open++;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    stream.once("close", () => {
      if (--open === 0 && !session.closed) timer = setTimeout(expire, idleMs);
    });
  });
  session.once("close", () => {
    if (timer) clearTimeout(timer);
  });
}

/** One HTTP/1.1 connection's header deadline. */
interface HeaderGuard {
  timer: NodeJS.Timeout;
  /** Requests whose headers arrived and whose response is not yet written. */
  busy: number;
  /** The timer runs for `idle_ms + headers_ms` (the deadline between requests), not `headers_ms`. */
  between: boolean;
}
type Guarded = Socket & { [HEADER_GUARD]?: HeaderGuard };

function headersLate(socket: Guarded): void {
  if (socket[HEADER_GUARD]!.busy === 0) socket.destroy();
}

/**
 * Close HTTP/1.1 connections of `h1` that take longer than allowed to send request headers. One
 * timer per connection, re-armed with refresh() after each response, and left running while a
 * request is served (it then does nothing): no timer or closure per request.
 */
export function guardHeaders(h1: HttpServer, headersMs: number, idleMs: number): void {
  h1.on("connection", (socket: Guarded) => {
    const g: HeaderGuard = { timer: setTimeout(headersLate, headersMs, socket).unref(), busy: 0, between: false };
    socket[HEADER_GUARD] = g;
    socket.once("close", () => clearTimeout(g.timer));
  });
  h1.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const g = (req.socket as Guarded)[HEADER_GUARD];
    if (!g) return;
    g.busy++;
    res.on("finish", responseWritten);
  });
  function responseWritten(this: ServerResponse): void {
    const socket = this.req.socket as Guarded; // this.socket is already detached on 'finish'
    const g = socket[HEADER_GUARD]!;
    if (--g.busy > 0 || socket.destroyed) return;
    if (g.between) {
      g.timer.refresh();
      return;
    }
    clearTimeout(g.timer);
    g.timer = setTimeout(headersLate, idleMs + headersMs, socket).unref();
    g.between = true;
  }
}
