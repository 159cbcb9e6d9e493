/**
 * The OpenAI door: POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models and
 * GET /v1/models/{id}.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Req, Res } from "../../http.js";
import { callHeaders, checkAuth, doorError, readJson, requestMetadata, sendError, sendJson, setProvenance, type DoorContext } from "../door-call.js";
import type { DoorService } from "../service-view.js";
import { serveChat, type ChatDoor } from "../chat-call.js";
import { invalidArgument } from "../../../core/errors.js";
import { base64Vector, embedRequest } from "../embed-input.js";
import { optString } from "../fields.js";
import { toChatRequest } from "./request.js";
import { completion, openaiError, openaiStream } from "./response.js";

export function createOpenAIDoor(service: DoorService, ctx: DoorContext) {
  const fail = (res: Res, err: unknown) => {
    const { error, status } = doorError(err);
    sendError(res, status, error, openaiError(error, status));
  };

  const chatDoor: ChatDoor<ReturnType<typeof toChatRequest>> = {
    parse: toChatRequest,
    streamFormat: (p) => openaiStream(p.includeUsage),
    answer: (a) => completion(a),
    errorBody: openaiError,
  };

  async function embeddings(req: Req, res: Res): Promise<void> {
    const denied = checkAuth(ctx, req);
    if (denied) return fail(res, denied);
    try {
      const body = await readJson(req, ctx.maxRequestBytes());
      const format = optString(body, "encoding_format") ?? "float";
      if (format !== "float" && format !== "base64") throw invalidArgument("encoding_format", `must be "float" or "base64" (got ${JSON.stringify(format)})`);
      const a = await service.embed(embedRequest(body, "input", requestMetadata(req)), callHeaders(req, res));
      setProvenance(res, a.provider, a.attempts, a.costUsd);
      const data = (a.embeddings ?? []).map((e, i) => ({ object: "embedding", index: e.index ?? i, embedding: format === "base64" ? base64Vector(e.values ?? []) : (e.values ?? []) }));
      sendJson(res, 200, { object: "list", data, model: a.model, usage: { prompt_tokens: a.usage?.promptTokens ?? 0, total_tokens: a.usage?.promptTokens ?? 0 } });
    } catch (err) {
      fail(res, err);
    }
  }

  function models(req: Req, res: Res, id?: string): void {
    const denied = checkAuth(ctx, req);
    if (denied) return fail(res, denied);
    const list = service.listModels({ provider: "" }).models ?? [];
    const data = list.map((m) => ({ id: m.name, object: "model", created: 0, owned_by: (m.providers ?? []).join(",") || "llmpool" }));
    if (id === undefined) return sendJson(res, 200, { object: "list", data });
    const found = data.find((m) => m.id === id);
    if (!found) return fail(res, new ConnectError(`model ${JSON.stringify(id)} is not served by any provider`, Code.NotFound));
    sendJson(res, 200, found);
  }

  /** True when the request is for this door (and is then answered). */
  return (req: Req, res: Res, path: string): boolean => {
    if (path === "/v1/chat/completions" && req.method === "POST") {
      void serveChat(service, ctx, chatDoor, req, res);
      return true;
    }
    if (path === "/v1/embeddings" && req.method === "POST") {
      void embeddings(req, res);
      return true;
    }
    if (req.method === "GET" && path === "/v1/models") {
      models(req, res);
      return true;
    }
    if (req.method === "GET" && path.startsWith("/v1/models/")) {
      let id: string;
      try {
        id = decodeURIComponent(path.slice("/v1/models/".length));
      } catch {
        id = path.slice("/v1/models/".length);
      }
      models(req, res, id);
      return true;
    }
    return false;
  };
}
