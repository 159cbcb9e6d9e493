import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, ImageSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { imageSource, jsonObjectOf, parseArguments, toolNameFor, trimmedPrefill } from "./messages.js";

describe("neutral message helpers", () => {
  it("trims a prefill and drops the continuation's leading whitespace once", () => {
    const p = trimmedPrefill("Hello \n")!;
    expect(p.text).toBe("Hello");
    expect(p.continue("")).toBe("");
    expect(p.continue("  ")).toBe("");
    expect(p.continue(" world")).toBe("world");
    expect(p.continue(" again")).toBe(" again");
    const q = trimmedPrefill("Hi")!;
    expect(q.continue(" there")).toBe(" there");
    expect(trimmedPrefill("   ")).toBeUndefined();
    expect(trimmedPrefill(undefined)).toBeUndefined();
  });

  it("reads image sources: bytes, data: URLs, http URLs with a guessed MIME type", () => {
    const img = (init: object) => create(ImageSchema, init);
    expect(imageSource(img({ source: { case: "data", value: new Uint8Array([1, 2]) }, mimeType: "image/gif" }))).toEqual({ kind: "bytes", mimeType: "image/gif", base64: "AQI=" });
    expect(imageSource(img({ source: { case: "url", value: "data:image/jpeg;base64,AQI=" } }))).toEqual({ kind: "bytes", mimeType: "image/jpeg", base64: "AQI=" });
    expect(imageSource(img({ source: { case: "url", value: "https://x.test/a.PNG?s=1" } }))).toEqual({ kind: "url", url: "https://x.test/a.PNG?s=1", mimeType: "image/png" });
    expect(imageSource(img({ source: { case: "url", value: "https://x.test/img" }, mimeType: "image/webp" }))).toMatchObject({ mimeType: "image/webp" });
  });

  it("finds the function a tool message answers from the nearest assistant call", () => {
    const req = create(ChatRequestSchema, {
      messages: [
        { role: "assistant", toolCalls: [{ id: "call_0", name: "old" }] },
        { role: "tool", toolCallId: "call_0", content: "1" },
        { role: "assistant", toolCalls: [{ id: "call_0", name: "new" }] },
        { role: "tool", toolCallId: "call_0", content: "2" },
        { role: "tool", toolCallId: "zzz", name: "named", content: "3" },
      ],
    });
    expect([1, 3, 4].map((i) => toolNameFor(req, i))).toEqual(["old", "new", "named"]);
  });

  it("parses tool arguments and JSON results leniently", () => {
    expect(parseArguments('{"a":1}')).toEqual({ a: 1 });
    expect(parseArguments("")).toEqual({});
    expect(parseArguments("not json")).toEqual({});
    expect(parseArguments("[1]")).toEqual({ value: [1] });
    expect(jsonObjectOf(' {"t":2}')).toEqual({ t: 2 });
    expect(jsonObjectOf("sunny")).toBeUndefined();
  });
});
