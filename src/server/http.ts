/**
 * Plain HTTP beside the RPCs on the same port: /metrics, /healthz, /readyz, and CORS for
 * browser clients (Connect-Web, gRPC-Web).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";
import type { ServerConfig } from "../config/schema.js";

export type Req = IncomingMessage | Http2ServerRequest;
export type Res = ServerResponse | Http2ServerResponse;
export type Handler = (req: Req, res: Res) => void;

/** One request header as a string (repeated ones joined with ", "), or null when absent. */
export function headerValue(headers: Req["headers"], name: string): string | null {
  const v = headers[name];
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
}

/** Response headers browsers may read, beyond Connect's own. */
const EXPOSED = ["x-request-id", "x-llmpool-provider", "retry-after", "retry-after-ms", "x-llmpool-attempts", "x-llmpool-cost-usd"];
/** Request headers browsers may send, beyond Connect's own. */
const ALLOWED = ["authorization", "x-api-key", "x-request-id", "x-llmpool-provider", "x-provider", "x-llmpool-tenant", "anthropic-version", "anthropic-beta"];

export interface CorsPolicy {
  /** Adds CORS headers; returns true when the request was a preflight and is answered. */
  apply(req: Req, res: Res): boolean;
}

export function createCors(cfg: () => ServerConfig["cors"]): CorsPolicy {
  return {
    apply(req, res) {
      const c = cfg();
      const origin = req.headers.origin;
      if (!c.enabled || typeof origin !== "string") return false;
      const any = c.allowed_origins.includes("*");
      if (!any && !c.allowed_origins.includes(origin)) return false;
      res.setHeader("access-control-allow-origin", any ? "*" : origin);
      if (!any) res.setHeader("vary", "origin");
      if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
        res.setHeader("access-control-allow-methods", connectCors.allowedMethods.join(", "));
        res.setHeader(
          "access-control-allow-headers",
          [...connectCors.allowedHeaders, ...ALLOWED, ...c.allowed_headers].join(", "),
        );
        res.setHeader("access-control-max-age", String(c.max_age_s));
        res.statusCode = 204;
        res.end();
        return true;
      }
      res.setHeader(
        "access-control-expose-headers",
        [...connectCors.exposedHeaders, ...EXPOSED, ...c.exposed_headers].join(", "),
      );
      return false;
    },
  };
}

export function sendText(res: Res, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.statusCode = status;
  res.setHeader("content-type", type);
  res.setHeader("cache-control", "no-store");
  res.end(body);
}
