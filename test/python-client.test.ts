/**
 * A Python grpcio client (Debian's python3-grpcio) against the running server, with stubs
 * generated from the proto by plain protoc, as a Python team would.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./helpers/server.js";

const exec = promisify(execFile);
const PYTHON = "/usr/bin/python3";
const PLUGIN = "/usr/bin/grpc_python_plugin";
const ready = existsSync(PYTHON) && existsSync(PLUGIN) && existsSync("/usr/bin/protoc");

let s: TestServer;
let stubs: string;

describe("Python grpcio client", () => {
  beforeAll(async () => {
    if (!ready) throw new Error("needs Debian python3-grpcio, protobuf-compiler and protobuf-compiler-grpc (.ci/run installs them)");
    stubs = mkdtempSync(join(tmpdir(), "llmpool-py-"));
    await exec("/usr/bin/protoc", [
      "-Iproto",
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      `--plugin=protoc-gen-grpc_python=${PLUGIN}`,
      "proto/llmpool/v1/llmpool.proto",
    ]);
    s = await startServer({
      pool: { default_model: "mock" },
      providers: [{ name: "py-mock", type: "mock", models: ["mock"], embedding_models: ["mock-embed"], mock: { latency_ms: 1, reply: "echo: {prompt}" } }],
    });
  });
  afterAll(async () => {
    await s?.close();
    if (stubs) rmSync(stubs, { recursive: true, force: true });
  });

  it("calls every kind of RPC and reads errors", async () => {
    const { stdout } = await exec(PYTHON, ["test/python/client.py", stubs, `127.0.0.1:${s.port}`]);
    const out = JSON.parse(stdout);
    expect(out.chat).toEqual({
      content: "echo: hello from python",
      provider: "py-mock",
      finish_reason: "stop",
      request_id: "py-1",
      total_tokens: expect.any(Number),
    });
    expect(out.stream).toBe("echo: hello from python");
    expect(out.tools).toBe("INVALID_ARGUMENT"); // the mock takes no tools: capability routing says so
    expect(out.error).toEqual({ code: "INVALID_ARGUMENT", details: "messages: at least one message is required" });
    expect(out.not_found.code).toBe("NOT_FOUND");
    expect(out.not_found.details).toContain('model "nope" is not served');
    expect(out.embed).toEqual({ count: 2, dims: [3, 3], provider: "py-mock", prompt_tokens: 2 });
    expect(out.embed_error).toEqual({ code: "INVALID_ARGUMENT", details: "inputs: at least one input is required" });
    expect(out.models).toEqual([["mock", "chat"], ["mock-embed", "embedding"]]);
    expect(out.health).toBe("SERVING");
  }, 60_000);
});
