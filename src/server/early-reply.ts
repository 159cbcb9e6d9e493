/**
 * Answering a call before (or instead of) reading its body: a refused key, a body that did
 * not arrive in time. The reply speaks the caller's protocol (gRPC, gRPC-Web, Connect unary
 * or streaming, plain HTTP/JSON), and the connection stops carrying the unread body: HTTP/1.1
 * closes the connection, HTTP/2 resets just that stream (RST_STREAM NO_ERROR after the
 * response, as RFC 9113 §8.1 allows), so a client that never finishes sending costs nothing.
 */
import http2 from "node:http2";
import type { Http2ServerRequest } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { specEncode } from "./grpc-message.js";
import type { Req, Res } from "./http.js";

const CODE_NAMES: Record<number, string> = {
  [Code.Unauthenticated]: "authentication_error",
  [Code.DeadlineExceeded]: "timeout",
  [Code.PermissionDenied]: "permission_error",
};

function envelope(flags: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = flags;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** Stop receiving the rest of the request once the reply is out. */
function stopReading(req: Req, res: Res): void {
  if (req.httpVersionMajor === 2) {
    const stream = (req as Http2ServerRequest).stream;
    // The stream's own 'finish' (its writable side done): the compat response emits its
    // 'finish' only once the whole stream closes, which is what we are waiting to cause.
    const reset = () => {
      if (!stream.destroyed && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    };
    if (stream.writableFinished) reset();
    else stream.once("finish", reset);
  } else {
    res.once("finish", () => req.socket.destroySoon());
  }
}

/** Reply with `err` in the protocol of `req`, then stop reading its body. */
export function replyEarly(req: Req, res: Res, err: ConnectError): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const ct = String(req.headers["content-type"] ?? "");
  const h1 = req.httpVersionMajor !== 2;
  const close: Record<string, string> = h1 ? { connection: "close" } : {};
  if (ct.startsWith("application/grpc")) {
    // Trailers-only response: status in the headers of a body-less 200 (gRPC and gRPC-Web).
    res.writeHead(200, { ...close, "content-type": ct.startsWith("application/grpc-web") ? "application/grpc-web+proto" : "application/grpc", "grpc-status": String(err.code), "grpc-message": specEncode(err.rawMessage) });
    res.end();
  } else if (ct.startsWith("application/connect+")) {
    const body = envelope(0b10, Buffer.from(JSON.stringify(endStreamToJson(err.metadata, err, {}))));
    res.writeHead(200, { ...close, "content-type": ct, "content-length": String(body.length) });
    res.end(body);
  } else if (req.url?.startsWith("/llmpool.v1.") || req.headers["connect-protocol-version"]) {
    const body = Buffer.from(errorToJsonBytes(err, {}));
    res.writeHead(codeToHttpStatus(err.code), { ...close, "content-type": "application/json", "content-length": String(body.length) });
    res.end(body);
  } else {
    // The HTTP front doors' callers (OpenAI, Anthropic, Ollama SDKs) read this error shape.
    const body = Buffer.from(JSON.stringify({ error: { message: err.rawMessage, type: CODE_NAMES[err.code] ?? "error" } }));
    const headers: Record<string, string> = { ...close, "content-type": "application/json", "content-length": String(body.length) };
    if (err.code === Code.Unauthenticated) headers["www-authenticate"] = "Bearer";
    res.writeHead(err.code === Code.DeadlineExceeded ? 408 : codeToHttpStatus(err.code), headers);
    res.end(body);
  }
  stopReading(req, res);
}
