import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionTracker } from "./drain.js";
import type { Req, Res } from "./http.js";

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

function listen(server: http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

describe("ConnectionTracker", () => {
  it("counts an HTTP/1.1 response until it is written, then closes the idle keep-alive connection on drain", async () => {
    const tracker = new ConnectionTracker();
    let release!: () => void;
    const server = http.createServer((req, res) => {
      tracker.onRequest(req as Req, res as Res);
      release = () => res.end("done");
    });
    tracker.watchServer(server);
    const port = await listen(server);
    closers.push(() => server.close());
    const agent = new http.Agent({ keepAlive: true });
    closers.push(() => agent.destroy());
    const answered = new Promise<{ body: string; socketClosed: Promise<void> }>((resolve) => {
      http.get({ port, host: "127.0.0.1", agent }, (res) => {
        let body = "";
        const socketClosed = new Promise<void>((r) => res.socket.once("close", () => r()));
        res.on("data", (c: Buffer) => (body += c));
        res.on("end", () => resolve({ body, socketClosed }));
      });
    });
    await new Promise<void>((r) => server.once("request", () => setImmediate(r)));
    expect(tracker.inProgress).toBe(1);
    let idle = false;
    void tracker.idle().then(() => (idle = true));
    release();
    const { body, socketClosed } = await answered;
    expect(body).toBe("done");
    await tracker.idle();
    expect(idle).toBe(true);
    expect(tracker.inProgress).toBe(0);
    tracker.drain(); // the connection is idle: closed at once
    await socketClosed;
  });

  it("counts an HTTP/2 response as done when it ends while the client still sends, and ends that stream on drain", async () => {
    const tracker = new ConnectionTracker();
    const server = http2.createServer((req, res) => {
      tracker.onRequest(req as unknown as Req, res as unknown as Res);
      res.writeHead(413).end(); // answered before the body: nobody reads the rest
    });
    server.on("session", (s) => tracker.watchSession(s));
    const port = await listen(server);
    closers.push(() => server.close());
    const client = http2.connect(`http://127.0.0.1:${port}`);
    closers.push(() => client.destroy());
    const stream = client.request({ ":method": "POST", ":path": "/" });
    stream.write("part of a body that never ends");
    const status = await new Promise<number>((r) => stream.once("response", (h) => r(Number(h[":status"]))));
    expect(status).toBe(413);
    await tracker.idle();
    expect(tracker.inProgress).toBe(0);
    tracker.drain();
    await new Promise<void>((r) => stream.once("close", () => r()));
    expect(stream.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
  });
});
