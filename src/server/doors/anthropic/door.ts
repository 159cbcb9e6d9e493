/**
 * The Anthropic door: POST /v1/messages. The gateway key comes as `x-api-key` (what the SDK
 * sends) or a bearer token; `anthropic-version` and `anthropic-beta` are accepted and ignored.
 */
import type { Req, Res } from "../../http.js";
import { callHeaders, checkAuth, doorError, readJson, requestMetadata, sendError, sendJson, setProvenance, type DoorContext } from "../door-call.js";
import type { DoorService } from "../service-view.js";
import { runStream } from "../stream.js";
import { toChatRequest } from "./request.js";
import { anthropicError, anthropicStream, message } from "./response.js";

export function createAnthropicDoor(service: DoorService, ctx: DoorContext) {
  const fail = (res: Res, err: unknown) => {
    const { error, status } = doorError(err);
    sendError(res, status, error, anthropicError(error, status));
  };

  async function messages(req: Req, res: Res): Promise<void> {
    const denied = checkAuth(ctx, req);
    if (denied) return fail(res, denied);
    let parsed;
    try {
      parsed = toChatRequest(await readJson(req, ctx.maxRequestBytes()), requestMetadata(req));
    } catch (err) {
      return fail(res, err);
    }
    if (parsed.stream) return runStream(service, parsed.request, req, res, anthropicStream(), anthropicError);
    try {
      const a = await service.chat(parsed.request, callHeaders(req, res));
      setProvenance(res, a.provider, a.attempts, a.costUsd);
      sendJson(res, 200, message(a));
    } catch (err) {
      fail(res, err);
    }
  }

  return (req: Req, res: Res, path: string): boolean => {
    if (path !== "/v1/messages" || req.method !== "POST") return false;
    void messages(req, res);
    return true;
  };
}
