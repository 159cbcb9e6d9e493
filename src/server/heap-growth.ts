/**
 * The old generation's growth after each full GC. Under load a gateway promotes short-lived
 * garbage (the objects of calls in flight survive two scavenges), and V8's default factor (up
 * to 4x what the last full GC kept) let the old space fill to ~120 MB of dead objects around
 * ~28 MB live, so peak RSS at 50 connections was ~250 MB. At 20% the old space stays near the
 * live size and peak RSS is ~160 MB for the same GC time per call (bench/RESULTS.md "Second pass").
 * V8 reads this flag whenever it sets a new heap limit, so it
 * takes effect when set at runtime, unlike the young generation's size.
 */
import v8 from "node:v8";

/** Set the growth factor; 0 is V8's own (dynamic) default. */
export function applyHeapGrowth(percent: number): void {
  v8.setFlagsFromString(`--heap-growing-percent=${Math.max(0, Math.round(percent))}`);
}
