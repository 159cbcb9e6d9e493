/**
 * Issue 12, "no cap on metadata entries or tools": the caps of server.limits are counted on
 * the wire before protobuf decodes the request (src/server/wire-caps.ts), so a flood of
 * 500,000 metadata entries is refused without first being decoded. Each body below is over a
 * cap and also malformed after that point: a decoder that ran first would report the
 * malformation, the wire count reports the cap.
 */
import { describe, expect, it } from "vitest";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { checkBinaryCaps, checkJsonCaps } from "../src/server/wire-caps.js";
import { harness } from "./helpers/harness.js";
import { openaiProvider } from "./helpers/server.js";

const h = harness();
const LIMITS = { max_metadata_entries: 3, max_tools: 2, max_messages: 4, max_tool_schema_bytes: 1000, max_decoded_bytes: 100_000 };

/** 1 message, `entries` metadata entries, then a field whose length runs past the end. */
function binaryBody(entries: number): Uint8Array {
  const w = new BinaryWriter();
  w.tag(2, 2).fork().tag(1, 2).string("user").tag(2, 2).string("hi").join();
  for (let i = 0; i < entries; i++) w.tag(8, 2).fork().tag(1, 2).string(`k${i}`).tag(2, 2).string("v").join();
  const head = w.finish();
  return Buffer.concat([head, Buffer.from([0x12, 0x7f])]); // messages, 127 bytes announced, none sent
}

describe("request caps counted on the wire", () => {
  it("binary: counts metadata entries, tools and messages without decoding them", () => {
    expect(() => checkBinaryCaps(binaryBody(4), LIMITS)).toThrow(/metadata: at most 3 entries \(server\.limits\.max_metadata_entries\)/);
    expect(() => checkBinaryCaps(binaryBody(1).subarray(0, binaryBody(1).length - 2), LIMITS)).not.toThrow();
  });

  it("JSON: the same caps on the parsed object", () => {
    expect(() => checkJsonCaps({ tools: [{}, {}, {}] }, LIMITS)).toThrow(/tools: at most 2 tools \(got 3; server\.limits\.max_tools\)/);
    expect(() => checkJsonCaps({ messages: [1, 2, 3, 4, 5] }, LIMITS)).toThrow(/messages: at most 4 messages/);
    expect(() => checkJsonCaps({ metadata: { a: "1", b: "2", c: "3", d: 4 } }, LIMITS)).toThrow(/metadata: at most 3 entries/);
  });

  it("through the server: Connect JSON and binary are refused by the cap, not by a decode error", async () => {
    const [up] = await h.fakes("up");
    const s = await h.serve({ server: { limits: { max_metadata_entries: 3 } }, pool: { warmup: { enabled: false } }, providers: [openaiProvider("up", up!.url)] });
    const metadata: Record<string, unknown> = { a: "1", b: "2", c: "3", d: 4 }; // d is not a string: undecodable
    const json = await fetch(`${s.url}/llmpool.v1.LLMPool/Chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], metadata }),
    });
    expect(json.status).toBe(400);
    expect(await json.text()).toContain("metadata: at most 3 entries");
    const bin = await fetch(`${s.url}/llmpool.v1.LLMPool/Chat`, { method: "POST", headers: { "content-type": "application/proto" }, body: Buffer.from(binaryBody(4)) });
    expect(bin.status).toBe(400);
    expect(bin.headers.get("content-type")).toContain("json"); // Connect unary errors are JSON
    expect(await bin.text()).toContain("metadata: at most 3 entries");
    expect(up!.chatRequests().length).toBe(0);
  });
});
