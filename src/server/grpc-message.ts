/**
 * gRPC's `grpc-message` is percent-encoded, but only bytes outside printable ASCII (and '%')
 * need it. connect-es encodes with encodeURIComponent, which also escapes ':' ',' ';' '/'...,
 * and @grpc/grpc-js decodes with decodeURI, which leaves those escaped: a grpc-js caller
 * would read "messages%3A at least one message". Re-encoding minimally, as the spec's
 * reference implementations do, reads right in every client.
 */
import type { Req, Res } from "./http.js";

/** Percent-encode `text` as the gRPC spec asks: bytes outside printable ASCII, and '%'. */
export function specEncode(text: string): string {
  let out = "";
  for (const b of Buffer.from(text, "utf8")) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}

function rewrite(headers: unknown): void {
  if (!headers || typeof headers !== "object") return;
  const h = headers as Record<string, unknown>;
  const m = h["grpc-message"];
  if (typeof m !== "string" || !m.includes("%")) return;
  try {
    h["grpc-message"] = specEncode(decodeURIComponent(m));
  } catch {
    // not valid percent-encoding: leave as sent
  }
}

/** For gRPC (not gRPC-Web) requests, make grpc-message readable by every client. */
export function fixGrpcMessage(req: Req, res: Res): void {
  const ct = req.headers["content-type"];
  if (typeof ct !== "string" || !ct.startsWith("application/grpc") || ct.startsWith("application/grpc-web")) return;
  const r = res as unknown as {
    writeHead: (status: number, headers?: unknown) => unknown;
    addTrailers: (headers: unknown) => void;
  };
  const writeHead = r.writeHead;
  const addTrailers = r.addTrailers;
  r.writeHead = function (this: unknown, status: number, headers?: unknown) {
    rewrite(headers);
    return writeHead.call(this, status, headers);
  };
  r.addTrailers = function (this: unknown, headers: unknown) {
    rewrite(headers);
    return addTrailers.call(this, headers);
  };
}
