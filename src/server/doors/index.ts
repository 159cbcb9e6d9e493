/**
 * The HTTP front doors (OpenAI, Anthropic, Ollama) as one dispatch point for the server's
 * handler: each door translates its API onto the LLMPool service and back (README "Drop-in
 * HTTP APIs"). Which doors answer is `server.doors.*`, read on every request so a reload
 * applies.
 */
import type { ServerConfig } from "../../config/schema.js";
import type { Req, Res } from "../http.js";
import { createAnthropicDoor } from "./anthropic/door.js";
import type { DoorAuthenticator } from "./door-call.js";
import { createOllamaDoor } from "./ollama/door.js";
import { createOpenAIDoor } from "./openai/door.js";
import type { DoorService } from "./service-view.js";

export type { DoorService } from "./service-view.js";

export interface DoorsOptions {
  service: DoorService;
  /** The gateway key check of the RPCs (src/server/auth.ts). */
  authenticate: DoorAuthenticator;
  /** The server config in force. */
  config: () => ServerConfig;
}

/** Returns true when a door answered the request. */
export type Doors = (req: Req, res: Res, path: string) => boolean;

export function createDoors(opts: DoorsOptions): Doors {
  const ctx = { authenticate: opts.authenticate, maxRequestBytes: () => opts.config().max_request_bytes };
  const openai = createOpenAIDoor(opts.service, ctx);
  const anthropic = createAnthropicDoor(opts.service, ctx);
  const ollama = createOllamaDoor(opts.service, ctx);
  return (req, res, path) => {
    const d = opts.config().doors;
    const c = path.charCodeAt(1);
    // "/v1/..." (OpenAI, Anthropic) or "/api/...", "/health/..." (Ollama); RPC paths start "/llmpool." or "/grpc.".
    if (c === 118 /* v */) return (d.anthropic && anthropic(req, res, path)) || (d.openai && openai(req, res, path));
    if (c === 97 /* a */ || c === 104 /* h */) return d.ollama && ollama(req, res, path);
    return false;
  };
}
