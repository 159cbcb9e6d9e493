/**
 * The `.env` file (README "Configuration"): beside the config file, or in the working
 * directory without one; it never overrides a variable already set; bad lines name file:line.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { loadDotenv, parseDotenv } from "../src/config/dotenv.js";

const exec = promisify(execFile);
const dir = () => mkdtempSync(join(tmpdir(), "llmpool-dotenv-"));

describe(".env", () => {
  it("parses the common subset", () => {
    const text = [
      "# a comment",
      "",
      "PLAIN=value # trailing comment",
      "export EXPORTED=yes",
      "SINGLE='literal $HOME \\n # kept'",
      'DOUBLE="line\\nbreak \\"quoted\\"" # comment',
      "EMPTY=",
      "URL=http://127.0.0.1:8000/v1#frag",
    ].join("\n");
    expect(parseDotenv(text, ".env")).toEqual({
      PLAIN: "value",
      EXPORTED: "yes",
      SINGLE: "literal $HOME \\n # kept",
      DOUBLE: 'line\nbreak "quoted"',
      EMPTY: "",
      URL: "http://127.0.0.1:8000/v1#frag",
    });
    expect(() => parseDotenv("OK=1\nnot a line\nBAD='open\n", "/x/.env")).toThrow(
      "invalid config /x/.env:\n  line 2: expected KEY=value\n  line 3: BAD: unterminated '...' value",
    );
  });

  it("is read beside the config file (else the working directory) and fills only unset variables", () => {
    const d = dir();
    mkdirSync(join(d, "etc"));
    writeFileSync(join(d, "etc", "llmpool.yaml"), "providers: []\n");
    writeFileSync(join(d, "etc", ".env"), "A=from-file\nB=from-file\n");
    writeFileSync(join(d, ".env"), "C=cwd\n");
    const env: NodeJS.ProcessEnv = { B: "already-set" };
    expect(loadDotenv({ config: "etc/llmpool.yaml", env, cwd: d })).toBe(join(d, "etc", ".env"));
    expect(env).toEqual({ A: "from-file", B: "already-set" });
    const env2: NodeJS.ProcessEnv = { C: "" };
    expect(loadDotenv({ env: env2, cwd: d })).toBe(join(d, ".env"));
    expect(env2.C).toBe("");
    const env3: NodeJS.ProcessEnv = {};
    expect(loadDotenv({ configUrl: "http://127.0.0.1:1/c.yaml", env: env3, cwd: d })).toBe(join(d, ".env"));
    expect(env3.C).toBe("cwd");
    expect(loadDotenv({ env: {}, cwd: join(d, "etc", "..", "etc") })).toBe(join(d, "etc", ".env"));
  });

  it("the CLI builds the embedded default from a .env in the working directory", async () => {
    const d = dir();
    writeFileSync(join(d, ".env"), "GROQ_API_KEY=gsk-from-dotenv-0123456789\nGROQ_PRIORITY=4\nGROQ_TIMEOUT=5\n");
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, GROQ_TIMEOUT: "7" };
    const cli = resolve("src/cli.ts");
    // Run from the temp directory, so tsx is named by its path rather than resolved from there.
    const tsx = pathToFileURL(resolve("node_modules/tsx/dist/loader.mjs")).href;
    const { stdout } = await exec(process.execPath, ["--import", tsx, cli, "print-config"], { env, cwd: d });
    expect(stdout).toContain("name: groq");
    expect(stdout).toContain("priority: 4");
    expect(stdout).toContain("timeout_ms: 7000"); // the variable already set wins over the file
    expect(stdout).not.toContain("gsk-from-dotenv");
  });
});
