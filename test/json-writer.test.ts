import { create, ScalarType, toJsonString, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatResponseSchema, StreamChatResponseSchema, file_llmpool_v1_llmpool } from "../gen/llmpool/v1/llmpool_pb.js";
import { compileJsonWriter } from "../src/server/json-writer.js";

/** A small seeded generator, so a failure names a reproducible case. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const STRINGS = ["", "a", "0", "quote \" backslash \\ nl \n nul \u0000", "héllo 🚀 \u2028", "x".repeat(300)];
const NUMBERS = [0, -0, 1, 7, 2 ** 31 - 1, 1.5, -2.25, 1e21, 1e-7, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

function scalar(t: ScalarType, r: () => number): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  switch (t) {
    case ScalarType.STRING:
      return pick(STRINGS);
    case ScalarType.BOOL:
      return r() < 0.5;
    case ScalarType.BYTES:
      return pick([new Uint8Array(0), new Uint8Array([0, 255, 7]), new Uint8Array(40).fill(9)]);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return pick(NUMBERS);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return pick([0n, 1n, -5n, 9007199254740993n]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return pick([0n, 3n, 18446744073709551615n]);
    default:
      return pick([0, 1, 300, 2 ** 31 - 1]);
  }
}

/** A random init shape for `d`: each field absent, zero or set, nested to `depth`. */
function randomInit(d: DescMessage, r: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const value = (f: DescField): unknown => {
    if (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) return randomInit(f.message!, r, depth + 1);
    if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum")) return f.enum!.values[Math.floor(r() * f.enum!.values.length)]!.number;
    if (f.fieldKind === "map") return r() < 0.5 ? {} : { k: f.mapKind === "scalar" ? scalar(f.scalar, r) : undefined };
    return scalar((f as { scalar: ScalarType }).scalar, r);
  };
  for (const f of d.fields) {
    if (r() < 0.4 || (depth > 2 && f.fieldKind !== "scalar")) continue;
    if (f.oneof) {
      if (out[f.oneof.localName] === undefined && r() < 0.7) out[f.oneof.localName] = { case: f.localName, value: value(f) };
      continue;
    }
    if (f.fieldKind === "list") {
      const n = Math.floor(r() * 3);
      out[f.localName] = Array.from({ length: n }, () => value(f));
    } else out[f.localName] = value(f);
  }
  return out;
}

describe("compiled response JSON (src/server/json-writer.ts)", () => {
  it("compiles the response messages the fast path writes", () => {
    expect(compileJsonWriter(ChatResponseSchema)).toBeDefined();
    expect(compileJsonWriter(StreamChatResponseSchema)).toBeDefined();
  });

  it("writes exactly protobuf-es's JSON for random messages of every type it compiles", () => {
    let compiled = 0;
    for (const d of file_llmpool_v1_llmpool.messages) {
      const write = compileJsonWriter(d);
      if (!write) continue;
      compiled++;
      const r = rng(d.typeName.length * 7919);
      for (let i = 0; i < 300; i++) {
        const init = randomInit(d, r);
        const msg = create(d, init);
        expect(write(init), `${d.typeName} #${i}: ${JSON.stringify(init, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`).toBe(toJsonString(d, msg));
        expect(write(msg), `${d.typeName} #${i} as a created message`).toBe(toJsonString(d, msg));
      }
    }
    expect(compiled).toBeGreaterThan(10);
  });

  it("declines types with maps or well-known types (the caller keeps protobuf-es)", () => {
    const withMap = file_llmpool_v1_llmpool.messages.find((d) => d.fields.some((f) => f.fieldKind === "map"));
    expect(withMap).toBeDefined();
    expect(compileJsonWriter(withMap!)).toBeUndefined();
  });
});
