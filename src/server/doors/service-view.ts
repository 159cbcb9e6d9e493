/**
 * The part of the LLMPool service (src/server/service.ts) the doors call: they translate onto
 * it and never reach past it into the pool.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ChatRequest,
  ChatResponseSchema,
  EmbedRequest,
  EmbedResponseSchema,
  GetPoolStatsResponseSchema,
  HealthResponseSchema,
  ListModelsResponseSchema,
  StreamChatResponseSchema,
} from "../../../gen/llmpool/v1/llmpool_pb.js";
import type { CallHeaders } from "../service.js";

export type ChatAnswer = MessageInitShape<typeof ChatResponseSchema>;
export type StreamChunk = MessageInitShape<typeof StreamChatResponseSchema>;
export type EmbedAnswer = MessageInitShape<typeof EmbedResponseSchema>;
export type ModelList = MessageInitShape<typeof ListModelsResponseSchema>;

export interface DoorService {
  chat(req: ChatRequest, ctx: CallHeaders): Promise<ChatAnswer>;
  streamChat(req: ChatRequest, ctx: CallHeaders): AsyncIterable<StreamChunk>;
  embed(req: EmbedRequest, ctx: CallHeaders): Promise<EmbedAnswer>;
  listModels(req: { provider: string }): ModelList;
  /** A promise (shared state may be read first) or, in older services, the value. */
  getPoolStats(req: { providers: string[] }): Promise<MessageInitShape<typeof GetPoolStatsResponseSchema>> | MessageInitShape<typeof GetPoolStatsResponseSchema>;
  health(req: { model: string }): MessageInitShape<typeof HealthResponseSchema>;
}
