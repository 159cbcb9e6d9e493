/**
 * A `.env` file beside the config file (or in the working directory when there is none, or the
 * config comes from a URL), loaded into the environment before the config is read. Variables
 * already set win: the file only fills gaps. The format is the common subset: `KEY=value`,
 * an optional `export ` prefix, `#` comments, blank lines, 'single-quoted' (literal) and
 * "double-quoted" (\n, \t, \", \\ escapes) values; a line that is none of these is an error
 * naming the file and line.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "./load.js";
import type { ConfigProblem } from "./interpolate.js";
import { findConfigFile } from "./source.js";

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;
const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };

/** The variables of a .env text; problems name `where:line`. */
export function parseDotenv(text: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: ConfigProblem[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (/^\s*(#.*)?$/.test(line)) return;
    const m = LINE.exec(line);
    if (!m) {
      problems.push({ path: `line ${i + 1}`, message: "expected KEY=value" });
      return;
    }
    const raw = m[2]!;
    let value: string;
    if (raw.startsWith("'")) {
      const end = raw.indexOf("'", 1);
      if (end < 0 || !/^\s*(#.*)?$/.test(raw.slice(end + 1))) {
        problems.push({ path: `line ${i + 1}`, message: `${m[1]}: unterminated '...' value` });
        return;
      }
      value = raw.slice(1, end);
    } else if (raw.startsWith('"')) {
      const dq = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(raw);
      if (!dq) {
        problems.push({ path: `line ${i + 1}`, message: `${m[1]}: unterminated "..." value` });
        return;
      }
      value = dq[1]!.replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? `\\${c}`);
    } else {
      value = raw.replace(/\s+#.*$/, "");
    }
    out[m[1]!] = value;
  });
  if (problems.length > 0) throw new ConfigError(where, problems);
  return out;
}

/**
 * Load the .env that belongs to this config into `env` without overriding what is set.
 * Returns the file read (undefined when there is none).
 */
export function loadDotenv(opts: { config?: string; configUrl?: string; env?: NodeJS.ProcessEnv; cwd?: string }): string | undefined {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const remote = opts.configUrl || (!opts.config && env.LLMPOOL_CONFIG_URL);
  const file = remote ? undefined : findConfigFile(opts.config, env, cwd);
  const path = join(file ? dirname(file) : cwd, ".env");
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, [{ path: "(file)", message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` }]);
  }
  for (const [k, v] of Object.entries(parseDotenv(text, path))) if (env[k] === undefined) env[k] = v;
  return path;
}
