/**
 * The Anthropic door: POST /v1/messages. The gateway key comes as `x-api-key` (what the SDK
 * sends) or a bearer token; `anthropic-version` and `anthropic-beta` are accepted and ignored.
 */
import type { Req, Res } from "../../http.js";
import { serveChat, type ChatDoor } from "../chat-call.js";
import type { DoorContext } from "../door-call.js";
import type { DoorService } from "../service-view.js";
import { toChatRequest } from "./request.js";
import { anthropicError, anthropicStream, message } from "./response.js";

export function createAnthropicDoor(service: DoorService, ctx: DoorContext) {
  const door: ChatDoor<ReturnType<typeof toChatRequest>> = {
    parse: toChatRequest,
    streamFormat: () => anthropicStream(),
    answer: (a) => message(a),
    errorBody: anthropicError,
  };

  return (req: Req, res: Res, path: string): boolean => {
    if (path !== "/v1/messages" || req.method !== "POST") return false;
    void serveChat(service, ctx, door, req, res);
    return true;
  };
}
