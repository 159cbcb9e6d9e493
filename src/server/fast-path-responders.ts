/**
 * How the fast path (fast-path.ts) writes one call's answer in each protocol it speaks: gRPC
 * over HTTP/2, Connect unary, Connect server streaming. Classes, not literals of closures: the
 * methods are shared, so a call allocates one responder object and nothing else for it. (An
 * accessor in a per-call literal also gave every call's object its own V8 map, and maps live in
 * the old generation: bench/RESULTS.md "Third pass".)
 */
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from "node:http2";
import type { ServerResponse } from "node:http";
import type { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { specEncode } from "./grpc-message.js";
import type { Req, Res } from "./http.js";

export interface Responder {
  /** Send response headers (once). */
  begin(headers: Record<string, string>): void;
  /** One message; a promise when the transport must drain before it takes more. */
  message(payload: Uint8Array): Promise<void> | void;
  /** Successful end. */
  end(): void;
  /** Failed end, before or after begin(). */
  fail(err: ConnectError, headers: Record<string, string>): void;
}

/** A length-prefixed message (gRPC and Connect streaming framing). */
export function envelope(flags: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = flags;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

function metadataOf(err: ConnectError): Record<string, string> {
  const out: Record<string, string> = {};
  err.metadata.forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

function whenWritable(stream: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve();
    const done = () => {
      stream.removeListener("drain", done);
      stream.removeListener("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/**
 * gRPC over the raw HTTP/2 stream: headers, length-prefixed messages, status in trailers.
 * Trailers go through the compat response's addTrailers(): Node's compat layer answers the
 * stream's 'wantTrailers' itself with whatever was added there.
 */
export class GrpcResponder implements Responder {
  private readonly stream: ServerHttp2Stream;
  private begun = false;
  constructor(
    req: Req,
    private readonly compat: Http2ServerResponse,
    private readonly ct: string,
  ) {
    this.stream = (req as Http2ServerRequest).stream;
  }
  begin(headers: Record<string, string>): void {
    if (this.begun) return;
    this.begun = true;
    this.stream.respond({ ...headers, ":status": 200, "content-type": this.ct, "grpc-accept-encoding": "identity" }, { waitForTrailers: true });
  }
  message(payload: Uint8Array): Promise<void> | void {
    if (!this.stream.write(envelope(0, payload))) return whenWritable(this.stream);
  }
  end(): void {
    this.compat.addTrailers({ "grpc-status": "0", "grpc-message": "" });
    this.stream.end();
  }
  fail(err: ConnectError, headers: Record<string, string>): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (!this.begun && stream.headersSent) return; // answered already (slow-clients.ts)
    const status = { ...metadataOf(err), "grpc-status": String(err.code), "grpc-message": specEncode(err.rawMessage) };
    if (!this.begun) {
      this.begun = true;
      // Trailers-only response: one HEADERS frame that ends the stream.
      stream.respond({ ...headers, ...status, ":status": 200, "content-type": this.ct }, { endStream: true });
      return;
    }
    this.compat.addTrailers(status);
    stream.end();
  }
}

/** Connect unary: the message is the body; errors are JSON with an HTTP status. */
export class ConnectUnaryResponder implements Responder {
  private body: Uint8Array | undefined;
  private headers: Record<string, string> = {};
  constructor(
    private readonly res: Res,
    private readonly json: boolean,
  ) {}
  begin(headers: Record<string, string>): void {
    this.headers = headers;
  }
  message(payload: Uint8Array): void {
    this.body = payload;
  }
  end(): void {
    const b = this.body ?? new Uint8Array(0);
    this.res.writeHead(200, { ...this.headers, "content-type": this.json ? "application/json" : "application/proto", "content-length": b.length });
    this.res.end(b);
  }
  fail(err: ConnectError, headers: Record<string, string>): void {
    const res = this.res;
    if (res.headersSent || res.destroyed) return;
    const b = errorToJsonBytes(err, {});
    res.writeHead(codeToHttpStatus(err.code), { ...headers, ...metadataOf(err), "content-type": "application/json", "content-length": b.length });
    res.end(b);
  }
}

/** Connect server streaming: enveloped messages, then an end-stream envelope. */
export class ConnectStreamResponder implements Responder {
  constructor(
    private readonly res: ServerResponse,
    private readonly ct: string,
  ) {}
  begin(headers: Record<string, string>): void {
    if (!this.res.headersSent) this.res.writeHead(200, { ...headers, "content-type": this.ct });
  }
  message(payload: Uint8Array): Promise<void> | void {
    if (!this.res.write(envelope(0, payload))) return whenWritable(this.res);
  }
  end(): void {
    this.res.end(envelope(0b10, Buffer.from("{}")));
  }
  fail(err: ConnectError, headers: Record<string, string>): void {
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    this.begin(headers);
    // endStreamToJson appends err.metadata to the trailers given: pass none, or each value twice.
    res.end(envelope(0b10, Buffer.from(JSON.stringify(endStreamToJson(new Headers(), err, {})))));
  }
}
