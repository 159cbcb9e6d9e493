/**
 * `${VAR}` interpolation over a parsed config tree. `${VAR:-fallback}` supplies a default,
 * `$${` is a literal `${`. An unset variable without a default is an error that names the
 * config path, so a missing key is reported before anything starts.
 */
export interface ConfigProblem {
  path: string;
  message: string;
}

const VAR = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || "(root)";
}

export function interpolateEnv(
  tree: unknown,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  path: PropertyKey[] = [],
): unknown {
  if (typeof tree === "string") {
    if (!tree.includes("${")) return tree;
    return tree.replace(VAR, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === "$${") return "${";
      const value = env[name!];
      if (value !== undefined && value !== "") return value;
      if (fallback !== undefined) return fallback;
      problems.push({
        path: formatPath(path),
        message: `environment variable ${name} is not set`,
      });
      return "";
    });
  }
  if (Array.isArray(tree)) return tree.map((v, i) => interpolateEnv(v, env, problems, [...path, i]));
  if (tree && typeof tree === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(tree)) out[k] = interpolateEnv(v, env, problems, [...path, k]);
    return out;
  }
  return tree;
}
