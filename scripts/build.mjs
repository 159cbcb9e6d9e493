#!/usr/bin/env node
/**
 * Build dist/ (tsc, then the dashboard bundle) only when a source is newer than the last build,
 * so `npm start` after a restart skips a 5-20 s compile. `--force` always builds (`npm run build`).
 * tsc runs with --incremental, so a rebuild after a small edit recompiles only what changed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const STAMP = join(root, "dist", ".build-stamp");
const INPUTS = ["src", "gen", "tsconfig.json", "tsconfig.build.json", "package.json"];

/** Newest modification time under a path (files and folders: a deleted file touches its folder). */
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  let t = st.mtimeMs;
  if (st.isDirectory()) for (const name of readdirSync(path)) t = Math.max(t, newest(join(path, name)));
  return t;
}

function run(args, what) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`build: ${what} failed\n`);
    process.exit(r.status ?? 1);
  }
}

const force = process.argv.includes("--force");
const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
const changed = Math.max(...INPUTS.map((p) => newest(join(root, p))));
if (!force && built > 0 && changed <= built) {
  process.stderr.write("build: dist/ is up to date\n");
  process.exit(0);
}
const started = Date.now();
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
run([tsc, "-p", "tsconfig.build.json", "--incremental", "--tsBuildInfoFile", "dist/.tsbuildinfo"], "tsc");
run([join(root, "dist", "src", "dashboard", "build.js")], "dashboard bundle");
// The stamp gets the time the build started, so a file saved during the build counts as newer.
writeFileSync(STAMP, `${new Date(started).toISOString()}\n`);
utimesSync(STAMP, started / 1000, started / 1000);
process.stderr.write(`build: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
