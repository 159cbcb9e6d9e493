/**
 * The cache key: SHA-256 of the request with only what decides the answer — model, messages,
 * sampling (temperature, max_tokens, top_p, stop, seed, penalties), tools, tool choice and
 * response format — encoded as protobuf binary, which is deterministic for equal content.
 * Routing, metadata (tenant, priority, ...) and `user` do not change the answer, so they are
 * left out and requests that differ only there share an entry.
 */
import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { ChatRequestSchema, type ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";

export function cacheKey(req: ChatRequest): string {
  const normal = create(ChatRequestSchema, {
    model: req.model,
    messages: req.messages,
    temperature: req.temperature,
    maxTokens: req.maxTokens,
    topP: req.topP,
    stop: req.stop,
    tools: req.tools,
    toolChoice: req.toolChoice,
    responseFormat: req.responseFormat,
    seed: req.seed,
    presencePenalty: req.presencePenalty,
    frequencyPenalty: req.frequencyPenalty,
  });
  return createHash("sha256").update(toBinary(ChatRequestSchema, normal)).digest("base64url");
}
