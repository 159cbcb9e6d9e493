/**
 * Bedrock embeddings through InvokeModel (`POST /model/{id}/invoke`), in the two body shapes
 * Bedrock's embedding families take: Cohere Embed (`cohere.embed-*`: every text in one call)
 * and Amazon Titan Embeddings (`amazon.titan-embed-*`: one text per call, so the inputs go in
 * parallel).
 */
import type { Cancel } from "../../util/cancel.js";
import type { EmbedCall } from "../../core/provider.js";
import { ProviderError } from "../../core/errors.js";

/** Sends one InvokeModel body for `model` and returns the parsed JSON answer. */
export type Invoke = (model: string, body: string, signal: Cancel) => Promise<unknown>;

export async function bedrockEmbed(provider: string, call: EmbedCall, invoke: Invoke): Promise<{ vectors: number[][]; promptTokens?: number }> {
  if (/(^|\.)cohere\.embed/.test(call.model)) {
    const j = (await invoke(call.model, JSON.stringify({ texts: call.inputs, input_type: "search_document", embedding_types: ["float"] }), call.signal)) as {
      embeddings?: number[][] | { float?: number[][] };
    };
    const e = j.embeddings;
    return { vectors: Array.isArray(e) ? e : (e?.float ?? []) };
  }
  if (/(^|\.)amazon\.titan-embed/.test(call.model)) {
    const answers = await Promise.all(
      call.inputs.map(
        (inputText) =>
          invoke(call.model, JSON.stringify({ inputText, ...(call.dimensions ? { dimensions: call.dimensions, normalize: true } : {}) }), call.signal) as Promise<{
            embedding?: number[];
            inputTextTokenCount?: number;
          }>,
      ),
    );
    let tokens = 0;
    for (const a of answers) tokens += a.inputTextTokenCount ?? 0;
    return { vectors: answers.map((a) => a.embedding ?? []), promptTokens: tokens || undefined };
  }
  throw new ProviderError({ provider, kind: "bad_request", message: `model ${call.model}: embeddings on Bedrock take amazon.titan-embed-* or cohere.embed-* models` });
}
