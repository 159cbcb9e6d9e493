/**
 * Where the bytes allocated per call come from: V8's sampling heap profiler, told to keep the
 * samples of objects the GC has already collected (the default keeps only what is live at the
 * end, which for a gateway is loaded code, not per-call garbage). Used by bench/profile.ts
 * --alloc-sites: the script below is preloaded into llmpool, starts sampling on SIGUSR2 (the
 * start of the measured burst) and writes the profile at exit.
 */
import { readFileSync } from "node:fs";

/** The preload script's source; it writes the profile to `out`. */
export function samplerScript(out: string): string {
  return [
    'import { Session } from "node:inspector";',
    'import { writeFileSync } from "node:fs";',
    "const s = new Session();",
    "s.connect();",
    'process.on("SIGUSR2", () => s.post("HeapProfiler.enable", () => s.post("HeapProfiler.startSampling",',
    "  { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })));",
    // A same-thread session answers synchronously, so the profile is written before exit.
    `process.once("exit", () => s.post("HeapProfiler.stopSampling", (e, r) => { if (!e) writeFileSync(${JSON.stringify(out)}, JSON.stringify(r.profile)); }));`,
  ].join("\n");
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** Package (or file under dist/, or node: module) a frame's URL belongs to. */
export function whereOf(url: string): string {
  if (!url) return "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return url;
  const d = url.indexOf("/dist/");
  return d >= 0 ? url.slice(d + 6) : url;
}

/**
 * Bytes per call by allocating function, by package, and inclusive for src/ functions; for each
 * name in `callers`, the four frames above the allocations made in a function of that name.
 */
export function summarizeHeap(path: string, calls: number, top: number, callers: readonly string[] = []): void {
  const head = (JSON.parse(readFileSync(path, "utf8")) as { head: HeapNode }).head;
  const self = new Map<string, number>();
  const pkg = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  const name = (f: HeapNode["callFrame"]) => `${f.functionName || "(anonymous)"} ${whereOf(f.url)}:${f.lineNumber + 1}`;
  const chains = new Map<string, Map<string, number>>(callers.map((c) => [c, new Map()]));
  const frames: string[] = [];
  const walk = (n: HeapNode, stack: string[]): void => {
    const key = name(n.callFrame);
    const ours = n.callFrame.url.includes("/dist/src/");
    if (ours) stack.push(key);
    const byChain = chains.get(n.callFrame.functionName);
    if (byChain && n.selfSize) {
      const chain = frames.slice(-4).reverse().join(" < ");
      byChain.set(chain, (byChain.get(chain) ?? 0) + n.selfSize);
    }
    frames.push(key);
    if (n.selfSize) {
      total += n.selfSize;
      self.set(key, (self.get(key) ?? 0) + n.selfSize);
      const p = whereOf(n.callFrame.url).split("/")[0]!.replace(/\.js$/, "");
      pkg.set(p, (pkg.get(p) ?? 0) + n.selfSize);
      for (const k of new Set(stack)) incl.set(k, (incl.get(k) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, stack);
    frames.pop();
    if (ours) stack.pop();
  };
  walk(head, []);
  const perCall = (b: number) => `${(b / calls / 1024).toFixed(2).padStart(7)} KB`;
  console.log(`\nsampled allocation: ${perCall(total).trim()} per call over ${calls} calls`);
  const print = (title: string, m: Map<string, number>, k: number) => {
    console.log(`\n${title}`);
    for (const [n, b] of [...m].sort((a, b) => b[1] - a[1]).slice(0, k)) console.log(`${perCall(b)}  ${n}`);
  };
  print("allocated per call, by function", self, top);
  print("by package / file", pkg, 25);
  print("inclusive, src/", incl, top);
  for (const [c, byChain] of chains) print(`callers of ${c}`, byChain, 8);
}
