/**
 * Every adapter's stream parser on a recorded-shape stream holding multi-byte UTF-8 text and
 * a tool call: the neutral events are the same however the bytes are split, even inside a
 * character or a frame.
 */
import { EventStreamCodec } from "@smithy/core/event-streams";
import { describe, expect, it } from "vitest";
import { anthropicStream } from "./anthropic/response.js";
import { bedrockStream } from "./bedrock/response.js";
import { cohereStream } from "./cohere/response.js";
import { geminiStream } from "./gemini/response.js";
import { ollamaStream } from "./ollama/response.js";
import { openaiStream } from "./openai/response.js";
import type { StreamEvent } from "../core/provider.js";

const TEXT = ["héllo ", "wörld 🚀", " 日本"];
const sse = (events: [string | undefined, unknown][]) =>
  Buffer.from(events.map(([e, d]) => `${e ? `event: ${e}\n` : ""}data: ${typeof d === "string" ? d : JSON.stringify(d)}\n\n`).join(""));

const codec = new EventStreamCodec(
  (b: Uint8Array) => Buffer.from(b).toString("utf8"),
  (s: string) => new Uint8Array(Buffer.from(s, "utf8")),
);
const frame = (event: string, payload: unknown) =>
  codec.encode({
    headers: { ":message-type": { type: "string", value: "event" }, ":event-type": { type: "string", value: event } },
    body: new Uint8Array(Buffer.from(JSON.stringify(payload))),
  });

const FIXTURES: Record<string, { bytes: Buffer; parse: (body: AsyncIterable<Buffer>) => AsyncGenerator<StreamEvent> }> = {
  openai: {
    bytes: sse([
      ...TEXT.map((t): [undefined, unknown] => [undefined, { id: "c1", model: "m", choices: [{ index: 0, delta: { content: t } }] }]),
      [undefined, { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "t1", function: { name: "f", arguments: '{"q":"ü"}' } }] } }] }],
      [undefined, { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }], usage: { prompt_tokens: 5, completion_tokens: 7 } }],
      [undefined, "[DONE]"],
    ]),
    parse: (b) => openaiStream(b, { provider: "p" }),
  },
  anthropic: {
    bytes: sse([
      ["message_start", { type: "message_start", message: { id: "m1", model: "c", usage: { input_tokens: 5 } } }],
      ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
      ...TEXT.map((t): [string, unknown] => ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: t } }]),
      ["content_block_start", { type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "t1", name: "f", input: {} } }],
      ["content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"q":"ü"}' } }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 7 } }],
      ["message_stop", { type: "message_stop" }],
    ]),
    parse: (b) => anthropicStream(b, { provider: "p" }),
  },
  gemini: {
    bytes: sse([
      ...TEXT.map((t): [undefined, unknown] => [undefined, { candidates: [{ content: { role: "model", parts: [{ text: t }] } }], responseId: "r1" }]),
      [undefined, { candidates: [{ content: { parts: [{ functionCall: { id: "t1", name: "f", args: { q: "ü" } } }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 7 } }],
    ]),
    parse: (b) => geminiStream(b, { provider: "p" }, "m"),
  },
  cohere: {
    bytes: sse([
      ["message-start", { type: "message-start", id: "co1" }],
      ...TEXT.map((t): [string, unknown] => ["content-delta", { type: "content-delta", index: 0, delta: { message: { content: { text: t } } } }]),
      ["tool-call-start", { type: "tool-call-start", index: 0, delta: { message: { tool_calls: { id: "t1", type: "function", function: { name: "f", arguments: "" } } } } }],
      ["tool-call-delta", { type: "tool-call-delta", index: 0, delta: { message: { tool_calls: { function: { arguments: '{"q":"ü"}' } } } } }],
      ["message-end", { type: "message-end", delta: { finish_reason: "TOOL_CALL", usage: { billed_units: { input_tokens: 5, output_tokens: 7 } } } }],
    ]),
    parse: (b) => cohereStream(b, { provider: "p" }, "m"),
  },
  ollama: {
    bytes: Buffer.from(
      [
        ...TEXT.map((t) => ({ model: "m", message: { role: "assistant", content: t }, done: false })),
        { model: "m", message: { role: "assistant", content: "", tool_calls: [{ id: "t1", function: { name: "f", arguments: { q: "ü" } } }] }, done: false },
        { model: "m", message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 5, eval_count: 7 },
      ]
        .map((o) => JSON.stringify(o) + "\n")
        .join(""),
    ),
    parse: (b) => ollamaStream(b, { provider: "p" }, "m"),
  },
  bedrock: {
    bytes: Buffer.concat([
      frame("messageStart", { role: "assistant" }),
      ...TEXT.map((t) => frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: t } })),
      frame("contentBlockStart", { contentBlockIndex: 1, start: { toolUse: { toolUseId: "t1", name: "f" } } }),
      frame("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: '{"q":"ü"}' } } }),
      frame("messageStop", { stopReason: "tool_use" }),
      frame("metadata", { usage: { inputTokens: 5, outputTokens: 7 } }),
    ]),
    parse: (b) => bedrockStream(b, { provider: "p", id: "r" }, "m"),
  },
};

async function* split(buf: Buffer, sizes: number[]) {
  let i = 0;
  for (let at = 0; at < buf.length; ) {
    const n = sizes[i++ % sizes.length]!;
    yield buf.subarray(at, at + n);
    at += n;
  }
}

async function run(parse: (b: AsyncIterable<Buffer>) => AsyncGenerator<StreamEvent>, body: AsyncIterable<Buffer>) {
  let text = "";
  const tools: string[] = [];
  let finish: string | undefined;
  let usage: unknown;
  for await (const e of parse(body)) {
    text += e.delta ?? "";
    for (const t of e.toolCalls ?? []) tools.push(`${t.index}|${t.id ?? ""}|${t.name ?? ""}|${t.argumentsDelta ?? ""}`);
    finish = e.finishReason ?? finish;
    usage = e.usage ?? usage;
  }
  return { text, tools: tools.join(";").replace(/;0\|\|\|/g, ""), finish, usage };
}

describe.each(Object.entries(FIXTURES))("%s stream parser", (_name, fx) => {
  it("decodes text, tool calls, finish and usage", async () => {
    const out = await run(fx.parse, split(fx.bytes, [fx.bytes.length]));
    expect(out.text).toBe(TEXT.join(""));
    expect(out.tools).toBe('0|t1|f|{"q":"ü"}');
    expect(out.finish).toBe("tool_calls");
    expect(out.usage).toMatchObject({ promptTokens: 5, completionTokens: 7 });
  });

  it("gives the same result for any split, even inside a UTF-8 character", async () => {
    const whole = await run(fx.parse, split(fx.bytes, [fx.bytes.length]));
    for (const sizes of [[1], [2], [3], [5, 1, 7], [13]]) expect(await run(fx.parse, split(fx.bytes, sizes))).toEqual(whole);
  });
});
