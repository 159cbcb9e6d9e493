import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { StreamChatResponseSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { encodeChunk } from "../src/server/fast-path.js";

const SAMPLES = [
  "",
  "a",
  "Hello, world",
  "quote \" backslash \\ newline \n tab \t nul \u0000 bell \u0007",
  "héllo wörld 🚀 日本語 \u2028 \u2029",
  "x".repeat(127),
  "x".repeat(128),
  "y".repeat(16_384),
  "é".repeat(70_000),
];

describe("hand-encoded delta chunks", () => {
  it("are byte-identical to protobuf-es in binary and JSON", () => {
    for (const delta of SAMPLES) {
      const msg = create(StreamChatResponseSchema, { delta });
      expect(Buffer.from(encodeChunk({ delta }, false)).equals(Buffer.from(toBinary(StreamChatResponseSchema, msg))), `binary ${delta.slice(0, 20)}`).toBe(true);
      expect(Buffer.from(encodeChunk({ delta }, true)).toString()).toBe(toJsonString(StreamChatResponseSchema, msg));
    }
  });

  it("falls back to protobuf-es for any other field", () => {
    const m = { delta: "x", finishReason: "stop", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } };
    const msg = create(StreamChatResponseSchema, m);
    expect(Buffer.from(encodeChunk(m, false)).equals(Buffer.from(toBinary(StreamChatResponseSchema, msg)))).toBe(true);
    expect(Buffer.from(encodeChunk(m, true)).toString()).toBe(toJsonString(StreamChatResponseSchema, msg));
  });

  it("encodes the restart chunk (field 18) like protobuf-es, and it decodes back", () => {
    const m = { delta: "", provider: "b", restart: { attempt: 2, discarded: 10, fromProvider: "a", toProvider: "b", reason: "connect: reset" } };
    const bin = encodeChunk(m, false);
    expect(Buffer.from(bin).equals(Buffer.from(toBinary(StreamChatResponseSchema, create(StreamChatResponseSchema, m))))).toBe(true);
    expect(fromBinary(StreamChatResponseSchema, bin).restart).toMatchObject(m.restart);
    expect(JSON.parse(Buffer.from(encodeChunk(m, true)).toString())).toEqual({ provider: "b", restart: m.restart });
  });
});
