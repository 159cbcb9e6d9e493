/**
 * "did you mean `weight`?" for an unknown config key: the keys the schema allows at that path,
 * nearest by edit distance. Walks the zod schema itself, so a key added to the schema is
 * suggested with no list to keep in step.
 */
import type { z } from "zod";

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas reached by following `path` (a union may lead to several). */
function schemasAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  let here: z.ZodType[] = [schema];
  for (let i = 0; i <= path.length; i++) {
    const next: z.ZodType[] = [];
    const seg = path[i];
    const todo = [...here];
    while (todo.length > 0) {
      const s = todo.pop()!;
      const d = defOf(s);
      if (d.innerType) todo.push(d.innerType);
      else if (d.type === "pipe" && d.in) todo.push(d.in);
      else if (d.type === "union" && d.options) todo.push(...d.options);
      else if (i === path.length) next.push(s);
      else if (d.type === "object" && typeof seg === "string" && d.shape?.[seg]) next.push(d.shape[seg]);
      else if (d.type === "array" && typeof seg === "number" && d.element) next.push(d.element);
      else if (d.type === "record" && d.valueType) next.push(d.valueType);
    }
    here = next;
  }
  return here;
}

/** Keys the schema allows in the object at `path`. */
export function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(schema, path)) {
    const d = defOf(s);
    if (d.type === "object" && d.shape) for (const k of Object.keys(d.shape)) keys.add(k);
  }
  return [...keys];
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/** The nearest allowed key, if near enough to be a typo (a third of its length, at least 1). */
export function suggestKey(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase().replace(/-/g, "_");
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of allowed) {
    const d = editDistance(lower, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}
