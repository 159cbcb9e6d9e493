import { EventStreamCodec } from "@smithy/core/event-streams";
import { describe, expect, it } from "vitest";
import { EventStreamDecoder, EventStreamError, decodeMessage, eventStreamMessages, type EventStreamMessage } from "./event-stream.js";

// Frames encoded by the AWS SDK's own codec: the decoder must read what AWS writes.
const codec = new EventStreamCodec(
  (b: Uint8Array) => Buffer.from(b).toString("utf8"),
  (s: string) => new Uint8Array(Buffer.from(s, "utf8")),
);
const frame = (event: string, payload: unknown) =>
  Buffer.from(
    codec.encode({
      headers: {
        ":message-type": { type: "string", value: "event" },
        ":event-type": { type: "string", value: event },
        ":content-type": { type: "string", value: "application/json" },
      },
      body: new Uint8Array(Buffer.from(JSON.stringify(payload))),
    }),
  );

const STREAM = Buffer.concat([
  frame("messageStart", { role: "assistant" }),
  frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "héllo wörld 🚀 日本" } }),
  frame("messageStop", { stopReason: "end_turn" }),
]);

async function* chunks(buf: Buffer, size: number) {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

async function decodeAll(buf: Buffer, size: number) {
  const out: { event: unknown; payload: unknown }[] = [];
  for await (const m of eventStreamMessages(chunks(buf, size))) out.push({ event: m.headers[":event-type"], payload: JSON.parse(m.payload.toString("utf8")) });
  return out;
}

describe("event-stream decoder", () => {
  it("decodes frames written by the AWS SDK codec", async () => {
    expect(await decodeAll(STREAM, STREAM.length)).toEqual([
      { event: "messageStart", payload: { role: "assistant" } },
      { event: "contentBlockDelta", payload: { contentBlockIndex: 0, delta: { text: "héllo wörld 🚀 日本" } } },
      { event: "messageStop", payload: { stopReason: "end_turn" } },
    ]);
  });

  it("gives the same messages however the bytes are split", async () => {
    const whole = await decodeAll(STREAM, STREAM.length);
    for (const size of [1, 2, 3, 7, 16, 64]) expect(await decodeAll(STREAM, size)).toEqual(whole);
  });

  it("reads every header type", () => {
    const buf = Buffer.from(
      codec.encode({
        headers: {
          t: { type: "boolean", value: true },
          f: { type: "boolean", value: false },
          b: { type: "byte", value: -3 },
          s: { type: "short", value: 300 },
          i: { type: "integer", value: 70000 },
          bin: { type: "binary", value: new Uint8Array([1, 2, 3]) },
          str: { type: "string", value: "ok" },
          ts: { type: "timestamp", value: new Date(1700000000000) },
          u: { type: "uuid", value: "00112233-4455-6677-8899-aabbccddeeff" },
        },
        body: new Uint8Array(0),
      }),
    );
    const m = decodeMessage(buf);
    expect(m.headers).toEqual({
      t: true,
      f: false,
      b: -3,
      s: 300,
      i: 70000,
      bin: new Uint8Array([1, 2, 3]),
      str: "ok",
      ts: 1700000000000n,
      u: "00112233445566778899aabbccddeeff",
    });
    expect(m.payload.length).toBe(0);
  });

  it("rejects a corrupted frame, an impossible length and a truncated stream", async () => {
    const bad = Buffer.from(STREAM);
    bad[20] = bad[20]! ^ 0xff;
    expect(() => new EventStreamDecoder().push(bad, [] as EventStreamMessage[])).toThrow(/checksum mismatch/);
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(0x7fffffff, 0);
    expect(() => new EventStreamDecoder().push(huge, [])).toThrow(EventStreamError);
    await expect(decodeAll(STREAM.subarray(0, STREAM.length - 5), 10)).rejects.toThrow(/stream ended inside a message/);
  });

  it("rejects a frame over the per-event cap before buffering it", () => {
    const f = frame("contentBlockDelta", { delta: { text: "x".repeat(500) } });
    expect(() => new EventStreamDecoder({ provider: "p", maxEventBytes: 256 }).push(f.subarray(0, 8), [])).toThrow(
      "upstream stream event exceeds max_stream_event_bytes (256 bytes)",
    );
    const out: EventStreamMessage[] = [];
    new EventStreamDecoder({ provider: "p", maxEventBytes: 4096 }).push(f, out);
    expect(out).toHaveLength(1);
  });
});
