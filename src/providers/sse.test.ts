import { describe, expect, it } from "vitest";
import { SseDecoder, ndjsonLines, sseEvents, type SseEvent } from "./sse.js";

async function* chunksOf(buf: Buffer, sizes: number[]) {
  let at = 0;
  let i = 0;
  while (at < buf.length) {
    const n = sizes[i++ % sizes.length]!;
    yield buf.subarray(at, at + n);
    at += n;
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const STREAM =
  'event: message_start\ndata: {"a":1}\n\n' +
  ": keep-alive comment\n\n" +
  'data: {"text":"héllo wörld 🚀 日本"}\n\n' +
  "data: line one\ndata: line two\n\n" +
  "event: ping\r\ndata: {}\r\n\r\n" +
  "data: [DONE]\n\n";

describe("SSE decoder", () => {
  it("decodes events, multi-line data, comments, CRLF", async () => {
    const events = await collect(sseEvents(chunksOf(Buffer.from(STREAM), [STREAM.length])));
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ["message_start", '{"a":1}'],
      ["message", '{"text":"héllo wörld 🚀 日本"}'],
      ["message", "line one\nline two"],
      ["ping", "{}"],
      ["message", "[DONE]"],
    ]);
  });

  it("gives the same events however the bytes are split, even inside UTF-8 characters", async () => {
    const whole = await collect(sseEvents(chunksOf(Buffer.from(STREAM), [1 << 20])));
    for (const sizes of [[1], [2], [3], [5, 1, 7], [13], [64]]) {
      const split = await collect(sseEvents(chunksOf(Buffer.from(STREAM), sizes)));
      expect(split).toEqual(whole);
    }
  });

  it("handles a CRLF split across chunks without inventing an empty event", () => {
    const d = new SseDecoder();
    const out: SseEvent[] = [];
    d.push("data: a\r", out);
    d.push("\ndata: b\r\n\r", out);
    d.push("\n", out);
    d.end(out);
    expect(out).toEqual([{ event: "message", data: "a\nb", id: undefined }]);
  });

  it("flushes an event left unterminated at the end of the body", async () => {
    const events = await collect(sseEvents(chunksOf(Buffer.from("data: tail"), [4])));
    expect(events.map((e) => e.data)).toEqual(["tail"]);
  });
});

describe("NDJSON lines", () => {
  it("splits lines across chunks and skips blanks", async () => {
    const text = '{"a":"é"}\n\n{"b":2}\n{"c":3}';
    for (const sizes of [[1], [3], [100]]) {
      expect(await collect(ndjsonLines(chunksOf(Buffer.from(text), sizes)))).toEqual(['{"a":"é"}', '{"b":2}', '{"c":3}']);
    }
  });
});

describe("per-event cap", () => {
  const cap = { provider: "p", maxEventBytes: 64 };

  it("passes events within the cap, however many, split anywhere", async () => {
    const text = 'data: {"x":"0123456789"}\n\n'.repeat(100);
    const events = await collect(sseEvents(chunksOf(Buffer.from(text), [7, 30, 3]), cap));
    expect(events).toHaveLength(100);
  });

  it("fails an SSE event that grows past it, across lines and without a line end", async () => {
    const manyLines = "data: 0123456789\n".repeat(10) + "\n";
    await expect(collect(sseEvents(chunksOf(Buffer.from(manyLines), [5]), cap))).rejects.toMatchObject({
      kind: "invalid_response",
      message: "upstream stream event exceeds max_stream_event_bytes (64 bytes)",
    });
    const noEnd = "data: " + "a".repeat(200);
    await expect(collect(sseEvents(chunksOf(Buffer.from(noEnd), [16]), cap))).rejects.toMatchObject({ kind: "invalid_response" });
    const oneChunk = "data: " + "a".repeat(200) + "\n\n";
    await expect(collect(sseEvents(chunksOf(Buffer.from(oneChunk), [oneChunk.length]), cap))).rejects.toMatchObject({ kind: "invalid_response" });
  });

  it("fails an NDJSON line past it", async () => {
    const lines = '{"a":1}\n' + "x".repeat(100) + "\n";
    await expect(collect(ndjsonLines(chunksOf(Buffer.from(lines), [lines.length]), cap))).rejects.toMatchObject({
      message: "upstream stream event exceeds max_stream_event_bytes (64 bytes)",
    });
    expect(await collect(ndjsonLines(chunksOf(Buffer.from('{"a":1}\n{"b":2}\n'), [3]), cap))).toEqual(['{"a":1}', '{"b":2}']);
  });
});
