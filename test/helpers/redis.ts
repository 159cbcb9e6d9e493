/**
 * A real redis-server (Debian's /usr/bin/redis-server) on a free 127.0.0.1 port in a temporary
 * folder, with nothing persisted, for tests of the Redis state backend. `kill()` takes it away
 * (SIGKILL, as a crash would) and `start()` brings it back, empty, on the same port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";

export interface TestRedis {
  port: number;
  url: string;
  /** Start (or restart, empty) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Stop and remove the folder. */
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "llmpool-redis-"));
  let port = await freePort();
  let child: ChildProcess | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const p = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = p;
      let out = "";
      const onData = (b: Buffer) => {
        out += b.toString();
        // With loglevel warning the readiness line is not printed: poll the port instead.
      };
      p.stdout!.on("data", onData);
      p.stderr!.on("data", onData);
      p.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
      const deadline = Date.now() + 10_000;
      const poll = () => {
        const sock = net.connect(port, "127.0.0.1");
        sock.once("connect", () => {
          sock.write("PING\r\n");
          sock.once("data", (d) => {
            sock.destroy();
            if (d.toString().startsWith("+PONG")) resolve();
            else retry();
          });
        });
        sock.once("error", () => {
          sock.destroy();
          retry();
        });
      };
      const retry = () => (Date.now() > deadline ? reject(new Error(`redis-server did not start: ${out}`)) : setTimeout(poll, 20));
      poll();
    });

  const kill = async () => {
    const p = child;
    child = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.removeAllListeners("exit");
      p.once("exit", () => r());
      p.kill("SIGKILL");
    });
  };

  // The free port may be taken by another test's server before redis binds it: take another.
  for (let tries = 1; ; tries++) {
    try {
      await start();
      break;
    } catch (err) {
      if (tries >= 5 || !String((err as Error).message).includes("in use")) throw err;
      port = await freePort();
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    kill,
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
