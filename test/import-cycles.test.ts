/**
 * Layers import one way: no import cycle anywhere in src/. madge is not a dependency, so this
 * walks the relative imports itself (type-only imports count too: they couple the files just the
 * same) and reports every cycle it finds with the files on it.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");
/** `from "./x.js"`, `import "./x.js"`, `import("./x.js")`, `export ... from "./x.js"`. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts")]) {
    if (candidate.startsWith(SRC) && existsSync(candidate)) return candidate;
  }
  return undefined; // outside src/ (gen/, packages): cannot close a cycle in src/
}

/** Import graph of src/: file -> files it imports. */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const target = resolveImport(file, m[1]!);
      if (target !== undefined) deps.push(target);
    }
    graph.set(file, deps);
  }
  return graph;
}

/** Every elementary cycle found by a depth-first walk (one per back edge), as relative paths. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 1 | 2>(); // 1 = on the current path, 2 = done
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 1);
    path.push(file);
    for (const dep of graph.get(file) ?? []) {
      const s = state.get(dep);
      if (s === 1) cycles.push(path.slice(path.indexOf(dep)).map((f) => relative(SRC, f)));
      else if (s === undefined) visit(dep);
    }
    path.pop();
    state.set(file, 2);
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** core/ is the bottom layer: it may import only itself and these leaf helpers (which import only each other). */
const CORE_MAY_IMPORT = new Set(["util/redact.ts", "util/clock.ts", "util/cancel.ts"]);

describe("src/ import graph", () => {
  it("finds the files and their imports", () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    const pool = graph.get(join(SRC, "pool/pool.ts"));
    expect(pool?.length).toBeGreaterThan(3);
  });

  it("detects a cycle when there is one", () => {
    const a = join(SRC, "a.ts");
    const b = join(SRC, "b.ts");
    expect(findCycles(new Map([[a, [b]], [b, [a]]]))).toEqual([["a.ts", "b.ts"]]);
  });

  it("has no import cycle", () => {
    const cycles = findCycles(importGraph()).map((c) => c.join(" -> "));
    expect(cycles).toEqual([]);
  });

  it("keeps core/ free of the layers above it", () => {
    const outside: string[] = [];
    for (const [file, deps] of importGraph()) {
      const from = relative(SRC, file);
      if (!from.startsWith("core/")) continue;
      for (const d of deps) {
        const to = relative(SRC, d);
        if (!to.startsWith("core/") && !CORE_MAY_IMPORT.has(to)) outside.push(`${from} -> ${to}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
