/**
 * Bundles the dashboard for the browser with esbuild: src/dashboard/app/main.ts (and the
 * Connect-Web client and generated code it imports) into one app.js, beside index.html and
 * style.css. `npm run build` runs it after tsc (`node dist/src/dashboard/build.js`); tests
 * call buildDashboard() into a temporary folder.
 */
import { copyFileSync, mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The app's source folder (src/dashboard/app), from src/ or from dist/src/. */
function appDir(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  return here.includes(`${join("dist", "src")}`) ? fileURLToPath(new URL("../../../src/dashboard/app/", import.meta.url)) : join(here, "app");
}

export async function buildDashboard(outDir: string, opts: { minify?: boolean } = {}): Promise<string> {
  // esbuild is a build-time tool (devDependency): loaded only here.
  const { build } = await import("esbuild");
  const src = appDir();
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(src, "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: opts.minify ?? true,
    sourcemap: false,
    legalComments: "none",
    outfile: join(outDir, "app.js"),
    logLevel: "warning",
  });
  copyFileSync(join(src, "index.html"), join(outDir, "index.html"));
  copyFileSync(join(src, "style.css"), join(outDir, "style.css"));
  return outDir;
}

const isMain = (() => {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();
if (isMain) {
  const out = process.argv[2] ?? fileURLToPath(new URL("../../dashboard/", import.meta.url));
  buildDashboard(out).then(
    (dir) => process.stdout.write(`dashboard built into ${dir}\n`),
    (err: Error) => {
      process.stderr.write(`dashboard build failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
