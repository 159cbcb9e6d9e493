/**
 * A real PostgreSQL for tests: initdb into a temp folder, postgres on a free 127.0.0.1 port
 * with its socket in that folder, password auth over TCP. PostgreSQL refuses to run as root, so
 * under root the server runs as the `postgres` user (setpriv) and the folder is given to it.
 * stop()/start() keep the data folder, so a test can take the database away and bring it back.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export const postgresAvailable = existsSync(join(BIN, "initdb")) && existsSync(join(BIN, "postgres"));

export interface TestPostgres {
  /** postgres://llmpool:PASSWORD@127.0.0.1:PORT/llmpool */
  readonly url: string;
  readonly password: string;
  readonly port: number;
  /** Fast shutdown; the data folder stays. */
  stop(): Promise<void>;
  /** Start again on the same port and data. */
  start(): Promise<void>;
  /** Stop and delete everything. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

function command(user: { uid: number; gid: number } | undefined, bin: string, args: string[]): [string, string[]] {
  return user ? ["setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", join(BIN, bin), ...args]] : [join(BIN, bin), args];
}

export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "llmpool-pg-"));
  const data = join(dir, "data");
  const user = runAs();
  if (user) chownSync(dir, user.uid, user.gid);
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, "pw");
  writeFileSync(pwfile, password + "\n", { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  const [cmd, args] = command(user, "initdb", ["-D", data, "-U", "llmpool", "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"]);
  const init = spawnSync(cmd, args, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  let port = await freePort();
  let proc: ChildProcess | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const [c, a] = command(user, "postgres", ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
      const p = spawn(c, a, { stdio: ["ignore", "ignore", "pipe"] });
      proc = p;
      let log = "";
      const onData = (b: Buffer) => {
        log += b.toString();
        if (log.includes("database system is ready to accept connections")) {
          p.stderr!.off("data", onData);
          p.stderr!.resume();
          resolve();
        }
      };
      p.stderr!.on("data", onData);
      p.once("exit", (code) => reject(new Error(`postgres exited (${code}): ${log}`)));
    }).then(async () => {
      // The server is up; create the database the URL names once.
      const c = new pg.Client({ connectionString: `postgres://llmpool:${password}@127.0.0.1:${port}/postgres` });
      await c.connect();
      try {
        const has = await c.query("SELECT 1 FROM pg_database WHERE datname = 'llmpool'");
        if (has.rowCount === 0) await c.query("CREATE DATABASE llmpool");
      } finally {
        await c.end();
      }
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.removeAllListeners("exit");
      p.once("exit", () => resolve());
      p.kill("SIGINT"); // fast shutdown
    });

  // The free port may be taken by another test's server before postgres binds it: take another.
  for (let tries = 1; ; tries++) {
    try {
      await start();
      break;
    } catch (err) {
      if (tries >= 5 || !String((err as Error).message).includes("Address already in use")) throw err;
      port = await freePort();
    }
  }
  return {
    url: `postgres://llmpool:${password}@127.0.0.1:${port}/llmpool`,
    password,
    port,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
