/**
 * Serves the dashboard's built assets (index.html, app.js, style.css) at /dashboard on the
 * server's own port. The browser app calls GetPoolStats through Connect-Web, like any client.
 * Assets are built by `npm run build` (src/dashboard/build.ts) into dist/dashboard and read
 * once, on first use.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Req, Res } from "../server/http.js";

export interface DashboardOptions {
  /** Folder of the built assets. Default: dist/dashboard beside the running code. */
  dir?: string;
  /** Server-side history served at /dashboard/history (JSON), so the page opens with charts. */
  history?: () => unknown;
}

export interface Dashboard {
  /** Answers GET /dashboard and /dashboard/*; returns false for other paths. */
  handle(path: string, req: Req, res: Res): boolean;
}

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

/** Only our own scripts, styles and RPCs: no CDN, no inline script. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Where `npm run build` puts the assets, seen from dist/src/dashboard or from src/dashboard (tsx). */
export function defaultDashboardDir(): string {
  const candidates = [fileURLToPath(new URL("../../dashboard/", import.meta.url)), fileURLToPath(new URL("../../dist/dashboard/", import.meta.url))];
  return candidates.find((d) => existsSync(join(d, "index.html"))) ?? candidates[0]!;
}

export function createDashboard(opts: DashboardOptions = {}): Dashboard {
  const dir = opts.dir ?? defaultDashboardDir();
  const cache = new Map<string, Buffer>();
  const read = (name: string): Buffer | undefined => {
    let b = cache.get(name);
    if (!b) {
      try {
        b = readFileSync(join(dir, name));
      } catch {
        return undefined;
      }
      cache.set(name, b);
    }
    return b;
  };
  return {
    handle(path, req, res) {
      if (path !== "/dashboard" && !path.startsWith("/dashboard/")) return false;
      const rest = path.slice("/dashboard".length).replace(/^\//, "");
      const name = rest === "" ? "index.html" : rest;
      if (name === "history" && opts.history) {
        const body = JSON.stringify(opts.history());
        res.statusCode = 200;
        res.setHeader("content-type", "application/json");
        res.setHeader("cache-control", "no-store");
        if (req.method === "HEAD") res.end();
        else res.end(body);
        return true;
      }
      const type = TYPES[name];
      const body = type ? read(name) : undefined;
      if (!type || !body) {
        res.statusCode = 404;
        res.setHeader("content-type", "text/plain; charset=utf-8");
        res.end(type ? `dashboard asset ${name} is missing: run npm run build\n` : "not found\n");
        return true;
      }
      res.statusCode = 200;
      res.setHeader("content-type", type);
      res.setHeader("cache-control", "no-cache");
      res.setHeader("x-content-type-options", "nosniff");
      if (name === "index.html") res.setHeader("content-security-policy", CSP);
      if (req.method === "HEAD") res.end();
      else res.end(body);
      return true;
    },
  };
}
