/**
 * The embeddings requests of the doors → the service's EmbedRequest: `input` as one string or
 * a list of strings (token arrays are refused by name: the pool routes text).
 */
import { create } from "@bufbuild/protobuf";
import { EmbedRequestSchema, type EmbedRequest } from "../../../gen/llmpool/v1/llmpool_pb.js";
import { invalidArgument } from "../../core/errors.js";
import { optInt, optString, type Obj } from "./fields.js";

export function embedRequest(body: Obj, key: string, metadata: Record<string, string>): EmbedRequest {
  const v = body[key];
  let inputs: string[];
  if (typeof v === "string") inputs = [v];
  else if (Array.isArray(v)) {
    inputs = v.map((s, i) => {
      if (typeof s !== "string") throw invalidArgument(`${key}[${i}]`, "must be a string (token arrays are not supported)");
      return s;
    });
  } else throw invalidArgument(key, v === undefined ? "required" : "must be a string or an array of strings");
  const dimensions = optInt(body, "dimensions");
  return create(EmbedRequestSchema, { model: optString(body, "model") ?? "", inputs, dimensions, metadata });
}

/** A vector as base64 of little-endian float32s (OpenAI's `encoding_format: "base64"`). */
export function base64Vector(values: readonly number[]): string {
  const f = new Float32Array(values);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64");
}
