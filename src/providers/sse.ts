/**
 * Incremental parsers for streamed bodies: Server-Sent Events and NDJSON. Input chunks may
 * split anywhere, even inside a UTF-8 character; the work per chunk is proportional to the
 * chunk, never to the stream so far.
 */
import { StringDecoder } from "node:string_decoder";
import { oversize } from "./response-caps.js";

/**
 * The per-event cap of a stream (`max_stream_event_bytes`). Sizes are counted in decoded
 * characters, which for UTF-8 never exceed the bytes, so memory stays within the cap.
 */
export interface EventCap {
  provider: string;
  maxEventBytes?: number;
}

export interface SseEvent {
  /** The `event:` field ("message" when absent). */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
  id?: string;
}

/** Splits decoded text into lines, carrying the unfinished tail between chunks. */
class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private tail = "";
  private lastWasCR = false;

  /** Lines completed by this chunk (without terminators). */
  push(chunk: Buffer | Uint8Array | string, out: string[]): void {
    let text = typeof chunk === "string" ? chunk : this.decoder.write(chunk as Buffer);
    if (text.length === 0) return;
    // A CRLF split across chunks: the LF was already counted with the CR.
    if (this.lastWasCR && text.charCodeAt(0) === 10) text = text.slice(1);
    this.lastWasCR = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = start === i ? "" : text.slice(start, i);
      out.push(this.tail ? this.tail + line : line);
      this.tail = "";
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else this.lastWasCR = true;
      }
      start = i + 1;
    }
    if (start < text.length) this.tail += text.slice(start);
  }

  /** Characters of the unfinished line held. */
  get pending(): number {
    return this.tail.length;
  }

  /** The unterminated last line, if any. */
  end(): string | undefined {
    const rest = this.tail + this.decoder.end();
    this.tail = "";
    return rest.length > 0 ? rest : undefined;
  }
}

/** Stateful SSE decoder: feed chunks, collect complete events. */
export class SseDecoder {
  private readonly lines = new LineSplitter();
  private readonly buf: string[] = [];
  private event = "";
  private data: string[] = [];
  private dataSize = 0;
  private id: string | undefined;

  /** Characters held for the event being read (its data lines and the unfinished line). */
  get pending(): number {
    return this.dataSize + this.lines.pending;
  }

  push(chunk: Buffer | Uint8Array | string, out: SseEvent[]): void {
    this.lines.push(chunk, this.buf);
    for (let i = 0; i < this.buf.length; i++) this.line(this.buf[i]!, out);
    this.buf.length = 0;
  }

  end(out: SseEvent[]): void {
    const rest = this.lines.end();
    if (rest !== undefined) this.line(rest, out);
    this.line("", out);
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      if (this.data.length > 0 || this.event) {
        out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
      }
      this.event = "";
      this.data = [];
      this.dataSize = 0;
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.dataSize += value.length + 1;
    } else if (field === "event") this.event = value;
    else if (field === "id") this.id = value;
  }
}

/** Async SSE events from a byte stream; an event over `cap.maxEventBytes` fails the stream. */
export async function* sseEvents(body: AsyncIterable<Buffer | Uint8Array>, cap?: EventCap): AsyncGenerator<SseEvent> {
  const max = cap?.maxEventBytes ?? Infinity;
  const decoder = new SseDecoder();
  const out: SseEvent[] = [];
  for await (const chunk of body) {
    decoder.push(chunk, out);
    if (decoder.pending > max) throw oversize(cap!.provider, "max_stream_event_bytes", max);
    if (out.length > 0) {
      for (let i = 0; i < out.length; i++) {
        const ev = out[i]!;
        if (ev.data.length > max) throw oversize(cap!.provider, "max_stream_event_bytes", max);
        yield ev;
      }
      out.length = 0;
    }
  }
  decoder.end(out);
  for (const ev of out) {
    if (ev.data.length > max) throw oversize(cap!.provider, "max_stream_event_bytes", max);
    yield ev;
  }
}

/** Async non-empty lines from a byte stream (NDJSON); a line over the cap fails the stream. */
export async function* ndjsonLines(body: AsyncIterable<Buffer | Uint8Array>, cap?: EventCap): AsyncGenerator<string> {
  const max = cap?.maxEventBytes ?? Infinity;
  const splitter = new LineSplitter();
  const out: string[] = [];
  for await (const chunk of body) {
    splitter.push(chunk, out);
    if (splitter.pending > max) throw oversize(cap!.provider, "max_stream_event_bytes", max);
    for (let i = 0; i < out.length; i++) {
      const line = out[i]!;
      if (line.length > max) throw oversize(cap!.provider, "max_stream_event_bytes", max);
      if (line.length > 0) yield line;
    }
    out.length = 0;
  }
  const rest = splitter.end();
  if (rest !== undefined && rest.trim().length > 0) yield rest;
}
