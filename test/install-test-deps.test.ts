/**
 * scripts/install-test-deps.sh (npm test's pretest step, also run by .ci/run): quiet and quick
 * when every package is there, and when one is missing it says which and installs only that.
 * dpkg-query and apt-get are stand-ins on PATH here: the test must not install anything.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ALL = ["python3-grpcio", "python3-protobuf", "protobuf-compiler", "libprotobuf-dev", "protobuf-compiler-grpc", "chromium", "openssl", "redis-server", "postgresql"];

function fakeBin(installed: string[]): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), "llmpool-deps-"));
  const log = join(dir, "apt.log");
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  tool("dpkg", "exit 0");
  tool("dpkg-query", installed.map((p) => `echo "${p} install ok installed"`).join("\n"));
  tool("apt-get", `echo "apt-get $*" >> ${log}`);
  tool("sudo", `"$@"`);
  tool("id", "echo 0");
  writeFileSync(log, "");
  return { dir, log };
}

function run(dir: string) {
  return spawnSync("bash", ["scripts/install-test-deps.sh"], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, LLMPOOL_SKIP_TEST_DEPS: "" } });
}

describe("install-test-deps.sh", () => {
  it("does nothing and prints nothing when every package is installed", () => {
    const { dir, log } = fakeBin(ALL);
    const r = run(dir);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(readFileSync(log, "utf8")).toBe("");
  });

  it("names and installs only the missing packages", () => {
    const { dir, log } = fakeBin(ALL.filter((p) => p !== "chromium" && p !== "redis-server"));
    const r = run(dir);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("installing: chromium redis-server");
    const apt = readFileSync(log, "utf8");
    expect(apt).toContain("apt-get update");
    expect(apt).toMatch(/apt-get install -y -qq --no-install-recommends chromium redis-server\n/);
  });
});
