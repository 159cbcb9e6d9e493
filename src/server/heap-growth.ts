/**
 * The old generation's growth after each full GC. Under load a gateway promotes short-lived
 * garbage (the objects of calls in flight survive two scavenges), and V8's default factor (up
 * to 4x what the last full GC kept) let the old space fill to ~120 MB of dead objects around
 * ~28 MB live, so peak RSS at 50 connections was ~250 MB. At 20% the old space stays near the
 * live size and peak RSS is ~160 MB for the same GC time per call (bench/RESULTS.md "Second pass").
 *
 * Node 20's V8 (11) reads the flag whenever it sets a new heap limit, so setting it at run time
 * works. Node 24's V8 (13) reads it only when the heap is set up: set at run time it changes
 * nothing (old space 67-69 MB at peak either way, against ~30 MB with the flag on the command
 * line; bench/RESULTS.md "Seventh pass"). The entry points (Dockerfile, `npm start`) therefore
 * pass the default on the command line too, and applying a value says when the process cannot
 * take it.
 */
import v8 from "node:v8";

const FLAG = "--heap-growing-percent=";

const normalize = (percent: number) => Math.max(0, Math.round(percent));

/** The value last applied, so a reload that keeps it says nothing again. */
let applied: number | undefined;

/**
 * Set the growth factor (0 is V8's own, dynamic, default). Returns why the value will not hold
 * in this process (heapGrowthProblem) when it is new, for the caller to log; undefined otherwise.
 */
export function applyHeapGrowth(percent: number): string | undefined {
  const want = normalize(percent);
  v8.setFlagsFromString(`${FLAG}${want}`);
  if (want === applied) return undefined;
  applied = want;
  return heapGrowthProblem(want);
}

/**
 * Why `percent` will not hold in this process, or undefined when it will: on a V8 that reads
 * the flag only at start-up, the value given on node's command line (in `execArgv`) is the one
 * that counts.
 */
export function heapGrowthProblem(percent: number, execArgv: readonly string[] = process.execArgv, v8Version: string = process.versions.v8): string | undefined {
  if (Number.parseInt(v8Version, 10) < 13) return undefined;
  const want = normalize(percent);
  let given: number | undefined;
  for (const a of execArgv) if (a.startsWith(FLAG)) given = Number(a.slice(FLAG.length));
  if (given === want) return undefined;
  const running = given === undefined ? "V8's own factor (no --heap-growing-percent on the command line)" : `${FLAG}${given}`;
  return `server.heap_growth_percent is ${want}, but this runtime (Node ${process.versions.node}, V8 ${v8Version}) reads it only at start-up: the process keeps ${running}. Start node with ${FLAG}${want}.`;
}
