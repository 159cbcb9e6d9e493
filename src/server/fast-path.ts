/**
 * The hot path: Chat and StreamChat over gRPC (HTTP/2) and the Connect protocol (unary and
 * server streaming, JSON or binary), served straight from the Node request.
 *
 * Why: measured on this project's machine, connect-node's generic handler costs about 200 µs
 * of CPU per call (universal request/response wrappers, web Headers, several AbortControllers
 * and a DOMException per call) and capped a constant-answer handler at ~4k req/s where a raw
 * Node handler did ~34k (bench/RESULTS.md). This module speaks the same wire protocols for the
 * two RPCs that carry the traffic, reusing connect's own protocol helpers (timeouts, error
 * JSON, end-stream, HTTP status mapping) and the same service implementation, validation,
 * auth and error mapping. Everything else — gRPC-Web, compressed messages, GET requests,
 * health, reflection and the other RPCs — goes to connect-node unchanged.
 */
import { create, toBinary, toJsonString, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import type { RequestLimits } from "../config/schema.js";
import { Code, ConnectError, type ContextKey } from "@connectrpc/connect";
import { parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";
import {
  ChatResponseSchema,
  StreamChatResponseSchema,
  type ChatRequest,
} from "../../gen/llmpool/v1/llmpool_pb.js";
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { headerValue, type Req, type Res } from "./http.js";
import type { CallHeaders } from "./service.js";
import { CALLER, type CallerIdentity } from "./auth.js";
import { decode, readBody, unenvelope } from "./fast-path-request.js";
import { compileJsonWriter } from "./json-writer.js";
import { ConnectStreamResponder, ConnectUnaryResponder, GrpcResponder, type Responder } from "./fast-path-responders.js";
import { CallAbort, type Cancel } from "../util/cancel.js";

const CHAT = "/llmpool.v1.LLMPool/Chat";
const STREAM = "/llmpool.v1.LLMPool/StreamChat";

export interface FastPathService {
  chat(req: ChatRequest, ctx: CallHeaders): Promise<MessageInitShape<typeof ChatResponseSchema>>;
  streamChat(req: ChatRequest, ctx: CallHeaders): AsyncIterable<MessageInitShape<typeof StreamChatResponseSchema>>;
}

export interface FastPathOptions {
  service: FastPathService;
  /** Largest request body accepted, bytes. */
  maxRequestBytes: () => number;
  /** Upper bound for any deadline, ms. */
  maxTimeoutMs: number;
  /** server.limits, counted on the wire before decoding (none: decode whatever fits). */
  limits?: () => RequestLimits;
}

type Wire = "grpc" | "connect" | "connect-stream";

/** Which protocol a request speaks, or undefined to leave it to connect-node. */
function classify(req: Req, path: string): { wire: Wire; json: boolean } | undefined {
  if (req.method !== "POST" || (path !== CHAT && path !== STREAM)) return undefined;
  const ct = req.headers["content-type"];
  if (typeof ct !== "string") return undefined;
  const h = req.headers;
  if (ct === "application/grpc" || ct === "application/grpc+proto") {
    if (req.httpVersionMajor !== 2) return undefined;
    const enc = h["grpc-encoding"];
    if (enc !== undefined && enc !== "identity") return undefined;
    return { wire: "grpc", json: false };
  }
  const enc = path === CHAT ? h["content-encoding"] : h["connect-content-encoding"];
  if (enc !== undefined && enc !== "identity") return undefined;
  if (path === CHAT) {
    if (ct === "application/json" || ct === "application/json; charset=utf-8") return { wire: "connect", json: true };
    if (ct === "application/proto") return { wire: "connect", json: false };
  } else {
    if (ct === "application/connect+json") return { wire: "connect-stream", json: true };
    if (ct === "application/connect+proto") return { wire: "connect-stream", json: false };
  }
  return undefined;
}

/** A request's headers as the service reads them (CallHeaders.requestHeader). */
class RequestHeaders {
  constructor(private readonly h: Req["headers"]) {}
  get(name: string): string | null {
    return headerValue(this.h, name);
  }
}

/** Response headers collected while the service runs. */
class ResponseHeaders {
  readonly map: Record<string, string> = {};
  set(name: string, value: string): void {
    this.map[name.toLowerCase()] = value;
  }
}

/** Per-call values: only CALLER is set on the fast path. */
class CallerValues {
  constructor(private readonly caller: CallerIdentity) {}
  get<T>(key: ContextKey<T>): T {
    return key.id === CALLER.id ? (this.caller as T) : key.defaultValue;
  }
}

/**
 * One call's CallHeaders. A class, not a literal: its methods are shared, so a call allocates
 * its few small objects and no closures for them.
 */
class FastCall implements CallHeaders {
  readonly requestHeader: RequestHeaders;
  readonly responseHeader = new ResponseHeaders();
  readonly values: CallerValues;
  /** performance.now() at the caller's deadline, if it gave one. */
  deadline: number | undefined;
  constructor(
    req: Req,
    caller: CallerIdentity,
    readonly signal: Cancel,
  ) {
    this.requestHeader = new RequestHeaders(req.headers);
    this.values = new CallerValues(caller);
  }
  timeoutMs(): number | undefined {
    return this.deadline === undefined ? undefined : Math.max(0, this.deadline - performance.now());
  }
}

/** Serves the call when it is one the fast path speaks; `caller` is already authenticated. */
export function createFastPath(opts: FastPathOptions): (req: Req, res: Res, path: string, caller: CallerIdentity) => boolean {
  return (req, res, path, caller) => {
    const kind = classify(req, path);
    if (!kind) return false;
    void serve(opts, req, res, path === STREAM, kind.wire, kind.json, caller);
    return true;
  };
}

/**
 * One response type's encoder: JSON from the compiled writer (src/server/json-writer.ts) where
 * the type compiles, otherwise, and for binary, protobuf-es.
 */
function messageEncoder<D extends DescMessage>(schema: D): (m: MessageInitShape<D>, json: boolean) => Uint8Array {
  const writeJson = compileJsonWriter(schema);
  return (m, json) => {
    if (json && writeJson) return Buffer.from(writeJson(m));
    const msg = create(schema, m);
    return json ? Buffer.from(toJsonString(schema, msg)) : toBinary(schema, msg);
  };
}
const encodeChat = messageEncoder(ChatResponseSchema);
const encodeStreamMessage = messageEncoder(StreamChatResponseSchema);

/** True when a chunk carries nothing but `delta`: the shape of nearly every stream message. */
function deltaOnly(m: object): m is { delta?: string } {
  for (const k in m) if (k !== "delta") return false;
  return true;
}

/**
 * Encode a StreamChatResponse. Delta-only chunks (all but the first and last of a stream) are
 * written directly: field 1 as a length-delimited string in binary, `{"delta":…}` in JSON —
 * byte-identical to protobuf-es (test/fast-path-encoding.test.ts) at a fraction of the cost.
 */
export function encodeChunk(m: MessageInitShape<typeof StreamChatResponseSchema>, json: boolean): Uint8Array {
  if (deltaOnly(m)) {
    const delta = m.delta ?? "";
    if (json) return Buffer.from(delta === "" ? "{}" : `{"delta":${JSON.stringify(delta)}}`);
    if (delta === "") return new Uint8Array(0);
    const len = Buffer.byteLength(delta);
    let varintLen = 1;
    for (let v = len; v > 0x7f; v >>>= 7) varintLen++;
    const out = Buffer.allocUnsafe(1 + varintLen + len);
    out[0] = 0x0a; // field 1, wire type 2
    let i = 1;
    let v = len;
    while (v > 0x7f) {
      out[i++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[i++] = v;
    out.write(delta, i, "utf8");
    return out;
  }
  return encodeStreamMessage(m, json);
}

async function serve(opts: FastPathOptions, req: Req, res: Res, streaming: boolean, wire: Wire, json: boolean, caller: CallerIdentity): Promise<void> {
  const ac = new CallAbort();
  const ctx = new FastCall(req, caller, ac);
  const responseHeader = ctx.responseHeader;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const onClose = () => {
    if (!finished) ac.abort(new ConnectError("the client canceled the call", Code.Canceled));
  };
  res.on("close", onClose); // removed in the finally below
  const ct = req.headers["content-type"] as string;
  const out: Responder =
    wire === "grpc"
      ? new GrpcResponder(req, res as Http2ServerResponse, ct)
      : wire === "connect"
        ? new ConnectUnaryResponder(res, json)
        : new ConnectStreamResponder(res as ServerResponse, ct);

  try {
    const timeout =
      wire === "grpc"
        ? parseGrpcTimeout(ctx.requestHeader.get("grpc-timeout"), opts.maxTimeoutMs)
        : parseConnectTimeout(ctx.requestHeader.get("connect-timeout-ms"), opts.maxTimeoutMs);
    if (timeout.error) throw timeout.error;
    if (timeout.timeoutMs !== undefined) {
      const ms = Math.min(timeout.timeoutMs, opts.maxTimeoutMs);
      ctx.deadline = performance.now() + ms;
      timer = setTimeout(() => ac.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), ms);
    }
    const body = await readBody(req, opts.maxRequestBytes(), ac);
    const request = decode(wire === "connect" ? body : unenvelope(body), json, opts.limits?.());

    if (!streaming) {
      const payload = encodeChat(await opts.service.chat(request, ctx), json);
      out.begin(responseHeader.map);
      const wrote = out.message(payload);
      if (wrote) await wrote;
    } else {
      for await (const chunk of opts.service.streamChat(request, ctx)) {
        out.begin(responseHeader.map);
        const wrote = out.message(encodeChunk(chunk, json));
        if (wrote) await wrote;
        if (ac.aborted) break;
      }
      if (ac.aborted) throw ac.reason;
      out.begin(responseHeader.map);
    }
    finished = true;
    out.end();
  } catch (err) {
    finished = true;
    out.fail(ConnectError.from(err), responseHeader.map);
  } finally {
    if (timer) clearTimeout(timer);
    res.off("close", onClose);
  }
}
