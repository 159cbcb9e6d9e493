/**
 * The Ollama door: POST /api/chat, /api/generate, /api/embed and /api/embeddings, GET /api/tags[/{provider}], /api/version,
 * /api/ps, and the pool views an Ollama-proxy user expects: GET /api/providers,
 * /api/providers/{name}/stats, /health/providers and /health/providers/{name}. Views are the
 * service's GetPoolStats and Health answers in their proto JSON form (snake_case names).
 */
import { create, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GetPoolStatsResponseSchema, HealthResponseSchema } from "../../../../gen/llmpool/v1/llmpool_pb.js";
import { VERSION } from "../../../version.js";
import type { Req, Res } from "../../http.js";
import { callHeaders, checkAuth, doorError, readJson, requestMetadata, sendError, sendJson, setProvenance, type DoorContext } from "../door-call.js";
import type { DoorService, ModelList } from "../service-view.js";
import { serveChat, type ChatDoor } from "../chat-call.js";
import { embedRequest } from "../embed-input.js";
import { optString } from "../fields.js";
import { chatRequest, generateRequest } from "./request.js";
import { answer, ollamaError, ollamaStream, type OllamaKind } from "./response.js";

const DETAILS = { parent_model: "", format: "", family: "", families: null, parameter_size: "", quantization_level: "" };

function tags(list: ModelList, running: boolean) {
  return (list.models ?? [])
    .filter((m) => !running || (m.routes ?? []).some((r) => r.healthy))
    .map((m) => ({
      name: m.name,
      model: m.name,
      modified_at: new Date(0).toISOString(),
      size: 0,
      digest: "",
      details: DETAILS,
      ...(running ? { expires_at: new Date(Date.now() + 3_600_000).toISOString(), size_vram: 0 } : {}),
    }));
}

const notFound = (what: string, name: string) => new ConnectError(`${what} ${JSON.stringify(name)} is not configured`, Code.NotFound);

export function createOllamaDoor(service: DoorService, ctx: DoorContext) {
  const fail = (res: Res, err: unknown) => {
    const { error, status } = doorError(err);
    sendError(res, status, error, ollamaError(error));
  };

  const chatDoor = (kind: OllamaKind): ChatDoor<ReturnType<typeof chatRequest>> => ({
    parse: kind === "chat" ? chatRequest : generateRequest,
    streamFormat: (p) => ollamaStream(kind, p.request.model),
    answer: (a, p) => answer(kind, a, p.request.model),
    errorBody: (e) => ollamaError(e),
  });
  const doors = { chat: chatDoor("chat"), generate: chatDoor("generate") };

  /** /api/embed (`input`, `embeddings`) and the older /api/embeddings (`prompt`, `embedding`). */
  async function embed(legacy: boolean, req: Req, res: Res): Promise<void> {
    const denied = checkAuth(ctx, req);
    if (denied) return fail(res, denied);
    try {
      const body = await readJson(req, ctx.maxRequestBytes());
      const a = await service.embed(embedRequest(body, legacy ? "prompt" : "input", requestMetadata(req)), callHeaders(req, res));
      setProvenance(res, a.provider, a.attempts, a.costUsd);
      const vectors = (a.embeddings ?? []).map((e) => e.values ?? []);
      if (legacy) return sendJson(res, 200, { embedding: vectors[0] ?? [] });
      const ns = Math.round((a.latencyMs ?? 0) * 1e6);
      sendJson(res, 200, { model: optString(body, "model") || a.model, embeddings: vectors, total_duration: ns, load_duration: 0, prompt_eval_count: a.usage?.promptTokens ?? 0 });
    } catch (err) {
      fail(res, err);
    }
  }

  async function stats(name?: string) {
    const all = toJson(GetPoolStatsResponseSchema, create(GetPoolStatsResponseSchema, await service.getPoolStats({ providers: [] })), { useProtoFieldName: true }) as {
      providers?: { name: string }[];
    };
    if (name === undefined) return { providers: all.providers ?? [] };
    const one = (all.providers ?? []).find((p) => p.name === name);
    if (!one) throw notFound("provider", name);
    return one;
  }

  function health(res: Res, name?: string) {
    const h = toJson(HealthResponseSchema, create(HealthResponseSchema, service.health({ model: "" })), { useProtoFieldName: true, alwaysEmitImplicit: true }) as {
      serving: boolean;
      providers?: { name: string; healthy: boolean }[];
    };
    if (name === undefined) return sendJson(res, h.serving ? 200 : 503, h);
    const one = (h.providers ?? []).find((p) => p.name === name);
    if (!one) throw notFound("provider", name);
    sendJson(res, one.healthy ? 200 : 503, one);
  }

  async function view(req: Req, res: Res, path: string): Promise<void> {
    const denied = checkAuth(ctx, req);
    if (denied) return fail(res, denied);
    try {
      if (path === "/api/version") return sendJson(res, 200, { version: VERSION });
      if (path === "/api/tags") return sendJson(res, 200, { models: tags(service.listModels({ provider: "" }), false) });
      if (path === "/api/ps") return sendJson(res, 200, { models: tags(service.listModels({ provider: "" }), true) });
      if (path.startsWith("/api/tags/")) {
        const p = decodeURIComponent(path.slice("/api/tags/".length));
        await stats(p); // 404 for an unknown provider
        return sendJson(res, 200, { models: tags(service.listModels({ provider: p }), false) });
      }
      if (path === "/api/providers") return sendJson(res, 200, await stats());
      const m = /^\/api\/providers\/([^/]+)\/stats$/.exec(path);
      if (m) return sendJson(res, 200, await stats(decodeURIComponent(m[1]!)));
      if (path === "/health/providers") return health(res);
      if (path.startsWith("/health/providers/")) return health(res, decodeURIComponent(path.slice("/health/providers/".length)));
      fail(res, new ConnectError(`no route GET ${path}`, Code.NotFound));
    } catch (err) {
      fail(res, err instanceof URIError ? new ConnectError(`path: ${err.message}`, Code.InvalidArgument) : err);
    }
  }

  return (req: Req, res: Res, path: string): boolean => {
    if (req.method === "POST") {
      if (path === "/api/chat") void serveChat(service, ctx, doors.chat, req, res);
      else if (path === "/api/generate") void serveChat(service, ctx, doors.generate, req, res);
      else if (path === "/api/embed") void embed(false, req, res);
      else if (path === "/api/embeddings") void embed(true, req, res);
      else return false;
      return true;
    }
    if (req.method === "GET" && (path.startsWith("/api/") || path.startsWith("/health/providers"))) {
      void view(req, res, path);
      return true;
    }
    return false;
  };
}
