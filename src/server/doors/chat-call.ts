/**
 * One chat call through a door, whatever its wire format: the gateway key (before the body is
 * read), the body parsed by the door, then either the door's stream (stream.ts) or one answer
 * with its provenance headers; every failure in the door's own error shape.
 */
import type { ConnectError } from "@connectrpc/connect";
import type { ChatRequest } from "../../../gen/llmpool/v1/llmpool_pb.js";
import type { Req, Res } from "../http.js";
import { callHeaders, checkAuth, doorError, readJson, requestMetadata, sendError, sendJson, setProvenance, type DoorContext } from "./door-call.js";
import type { ChatAnswer, DoorService } from "./service-view.js";
import { runStream, type StreamFormat } from "./stream.js";

/** What a door decides about a chat call; P is its parsed request. */
export interface ChatDoor<P extends { request: ChatRequest; stream: boolean }> {
  parse(body: Record<string, unknown>, metadata: Record<string, string>): P;
  streamFormat(parsed: P): StreamFormat;
  answer(a: ChatAnswer, parsed: P): unknown;
  errorBody(err: ConnectError, status: number): unknown;
}

export async function serveChat<P extends { request: ChatRequest; stream: boolean }>(
  service: DoorService,
  ctx: DoorContext,
  door: ChatDoor<P>,
  req: Req,
  res: Res,
): Promise<void> {
  const fail = (err: unknown) => {
    const { error, status } = doorError(err);
    sendError(res, status, error, door.errorBody(error, status));
  };
  const denied = checkAuth(ctx, req);
  if (denied) return fail(denied);
  let parsed: P;
  try {
    parsed = door.parse(await readJson(req, ctx.maxRequestBytes()), requestMetadata(req));
  } catch (err) {
    return fail(err);
  }
  if (parsed.stream) return runStream(service, parsed.request, req, res, door.streamFormat(parsed), door.errorBody);
  try {
    const a = await service.chat(parsed.request, callHeaders(req, res));
    setProvenance(res, a.provider, a.attempts, a.costUsd);
    sendJson(res, 200, door.answer(a, parsed));
  } catch (err) {
    fail(err);
  }
}
