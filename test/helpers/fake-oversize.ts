/**
 * An upstream on 127.0.0.1 that answers with bodies of any size, produced as they are sent
 * (one reused chunk, written under backpressure), and counts the bytes it got to send: a
 * client that stops reading stops it, so `sent` shows how much the client really took.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface OversizeReply {
  status: number;
  contentType: string;
  /** Sent first, then `fill` repeated until `total` bytes (or the client goes away). */
  prefix: string;
  fill: string;
  total: number;
  /** Send a content-length announcing `total` (default: chunked, size unknown up front). */
  announce?: boolean;
}

export interface FakeOversize {
  /** Base URL, including /v1. */
  url: string;
  origin: string;
  /** What the next requests get, chosen by request path. */
  reply(route: (path: string) => OversizeReply | undefined): void;
  /** Bytes written to the socket for the last answer. */
  readonly sent: number;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

async function pour(res: ServerResponse, r: OversizeReply, count: (n: number) => void): Promise<void> {
  const headers: Record<string, string | number> = { "content-type": r.contentType };
  if (r.announce) headers["content-length"] = r.total;
  res.writeHead(r.status, headers);
  let left = r.total;
  const head = Buffer.from(r.prefix);
  res.write(head);
  count(head.length);
  left -= head.length;
  const chunk = Buffer.alloc(CHUNK, r.fill);
  let gone = false;
  res.on("close", () => (gone = true));
  while (left > 0 && !gone) {
    const piece = left >= CHUNK ? chunk : chunk.subarray(0, left);
    left -= piece.length;
    count(piece.length);
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  if (!gone) res.end();
}

export async function startFakeOversize(): Promise<FakeOversize> {
  let route: (path: string) => OversizeReply | undefined = () => undefined;
  let sent = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const r = route(req.url ?? "/");
      if (!r) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
        return;
      }
      sent = 0;
      void pour(res, r, (n) => (sent += n));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/v1`,
    origin,
    reply(r) {
      route = r;
    },
    get sent() {
      return sent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
