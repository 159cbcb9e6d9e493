/**
 * An incremental decoder for the AWS event-stream framing (`application/vnd.amazon.eventstream`)
 * that Bedrock's ConverseStream answers with. Each message is
 *
 *   total length (u32) | headers length (u32) | prelude CRC32 | headers | payload | message CRC32
 *
 * with big-endian integers and CRC32 (IEEE) checksums. Chunks may split messages anywhere; the
 * work per chunk is proportional to the chunk (a partial message is the only thing kept).
 */
import { crc32 } from "node:zlib";
import { oversize } from "../response-caps.js";
import type { EventCap } from "../sse.js";

export type HeaderValue = string | number | boolean | bigint | Uint8Array;

export interface EventStreamMessage {
  headers: Record<string, HeaderValue>;
  payload: Buffer;
}

/** A frame that breaks the format: a wrong checksum, an impossible length. */
export class EventStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EventStreamError";
  }
}

/** Upper bound for one message; AWS caps event-stream messages at 16 MiB. */
const MAX_MESSAGE = 16 * 1024 * 1024;
const PRELUDE = 12;

function parseHeaders(buf: Buffer, start: number, end: number): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  let at = start;
  while (at < end) {
    const nameLen = buf.readUInt8(at);
    at += 1;
    const name = buf.toString("utf8", at, at + nameLen);
    at += nameLen;
    const type = buf.readUInt8(at);
    at += 1;
    let value: HeaderValue;
    switch (type) {
      case 0:
        value = true;
        break;
      case 1:
        value = false;
        break;
      case 2:
        value = buf.readInt8(at);
        at += 1;
        break;
      case 3:
        value = buf.readInt16BE(at);
        at += 2;
        break;
      case 4:
        value = buf.readInt32BE(at);
        at += 4;
        break;
      case 5:
      case 8: // timestamp: ms since epoch
        value = buf.readBigInt64BE(at);
        at += 8;
        break;
      case 6: {
        const n = buf.readUInt16BE(at);
        at += 2;
        value = new Uint8Array(buf.subarray(at, at + n));
        at += n;
        break;
      }
      case 7: {
        const n = buf.readUInt16BE(at);
        at += 2;
        value = buf.toString("utf8", at, at + n);
        at += n;
        break;
      }
      case 9:
        value = buf.toString("hex", at, at + 16);
        at += 16;
        break;
      default:
        throw new EventStreamError(`unknown header type ${type} for header ${name}`);
    }
    out[name] = value;
  }
  if (at !== end) throw new EventStreamError("headers overrun their declared length");
  return out;
}

/** Decode one complete message (exactly `buf.length` bytes). */
export function decodeMessage(buf: Buffer): EventStreamMessage {
  if (buf.length < PRELUDE + 4) throw new EventStreamError("message shorter than its prelude");
  const total = buf.readUInt32BE(0);
  const headersLen = buf.readUInt32BE(4);
  if (total !== buf.length) throw new EventStreamError(`message length ${total} does not match ${buf.length} bytes`);
  if (crc32(buf.subarray(0, 8)) !== buf.readUInt32BE(8)) throw new EventStreamError("prelude checksum mismatch");
  if (crc32(buf.subarray(0, total - 4)) !== buf.readUInt32BE(total - 4)) throw new EventStreamError("message checksum mismatch");
  if (PRELUDE + headersLen > total - 4) throw new EventStreamError("headers longer than the message");
  return {
    headers: parseHeaders(buf, PRELUDE, PRELUDE + headersLen),
    payload: buf.subarray(PRELUDE + headersLen, total - 4),
  };
}

/** Stateful framer: feed chunks, collect complete messages. */
export class EventStreamDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** `cap` bounds one message below the format's own 16 MiB (`max_stream_event_bytes`). */
  constructor(private readonly cap?: EventCap) {}

  push(chunk: Uint8Array, out: EventStreamMessage[]): void {
    const buf = this.pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (buf.length - at >= 4) {
      const total = buf.readUInt32BE(at);
      if (total < PRELUDE + 4 || total > MAX_MESSAGE) throw new EventStreamError(`impossible message length ${total}`);
      const max = this.cap?.maxEventBytes;
      if (max !== undefined && total > max) throw oversize(this.cap!.provider, "max_stream_event_bytes", max);
      if (buf.length - at < total) break;
      out.push(decodeMessage(buf.subarray(at, at + total)));
      at += total;
    }
    // Keep only the unfinished tail (copied, so the caller's chunk can be reused).
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }

  /** Bytes of an unfinished message left over (non-zero at the end means truncation). */
  get buffered(): number {
    return this.pending.length;
  }
}

/** Async messages from a byte stream. */
export async function* eventStreamMessages(body: AsyncIterable<Uint8Array>, cap?: EventCap): AsyncGenerator<EventStreamMessage> {
  const decoder = new EventStreamDecoder(cap);
  const out: EventStreamMessage[] = [];
  for await (const chunk of body) {
    decoder.push(chunk, out);
    for (let i = 0; i < out.length; i++) yield out[i]!;
    out.length = 0;
  }
  if (decoder.buffered > 0) throw new EventStreamError(`stream ended inside a message (${decoder.buffered} bytes left)`);
}
