import { readFileSync } from "node:fs";

/** The package version, read once from package.json (two levels up from src/ and dist/src/). */
export const VERSION: string = (() => {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const p = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (p.name === "llmpool" && p.version) return p.version;
    } catch {
      // try the next location
    }
  }
  return "0.0.0";
})();
