/**
 * Hot reload: a config file is watched (its directory, so editors' atomic saves and
 * Kubernetes ConfigMap symlink swaps count) and re-read after `server.reload.debounce_ms` of
 * quiet; a `--config-url` is fetched every `server.reload.poll_interval_s`. Either way the
 * text is compared by checksum first, then parsed, given the same flag/environment overrides
 * as at start, and validated: a valid config with a new version is applied (requests in
 * flight finish on the endpoints they hold; unchanged providers keep their state), an
 * invalid one is refused with its problems logged, and the old config keeps serving.
 * SIGHUP (see cli.ts) checks at once.
 */
import { watch, readFileSync, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { systemClock, type Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { ConfigError, parseConfigText, validateConfig, type LoadedConfig } from "./load.js";
import { applyOverrides, type Overrides } from "./overrides.js";
import { checkPinned, checksum, fetchConfigText, safeUrl } from "./remote.js";

/** `sha256`: the checksum a URL's body must have (`--config-sha256`); unset, any body is read. */
export type ConfigSource = { kind: "file"; path: string } | { kind: "url"; url: string; sha256?: string };

export type ReloadResult =
  | { status: "unchanged" }
  | { status: "reloaded"; version: string; added: string[]; removed: string[]; changed: string[]; kept: string[] }
  | { status: "invalid"; error: string };

export interface ReloaderOptions {
  source: ConfigSource;
  /** The config in force (its version and reload settings). */
  current(): LoadedConfig;
  /** Swap in a validated config; returns what changed. */
  apply(loaded: LoadedConfig): { added: string[]; removed: string[]; changed: string[]; kept: string[] };
  overrides?: Overrides;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  clock?: Clock;
  /** Told every check's result (tests, metrics). */
  onResult?(r: ReloadResult): void;
}

export interface Reloader {
  /** Begin watching (file) or polling (URL). */
  start(): void;
  stop(): void;
  /** Read the source now and apply it if it changed. */
  check(): Promise<ReloadResult>;
}

/** Read, parse and validate a config source's text, with the start-up overrides. */
export function loadConfigText(text: string, where: string, overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const raw = parseConfigText(text, where);
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(where, [{ path: "(root)", message: "expected a mapping of settings" }]);
  }
  return validateConfig(applyOverrides(raw as Record<string, unknown>, overrides, env), where, env);
}

export function createReloader(opts: ReloaderOptions): Reloader {
  const clock = opts.clock ?? systemClock;
  const src = opts.source;
  const where = src.kind === "file" ? src.path : safeUrl(src.url);
  let lastSum = "";
  let lastBadSum = "";
  let watcher: FSWatcher | undefined;
  let cancelTimer: (() => void) | undefined;
  let stopped = true;
  let running: Promise<ReloadResult> | undefined;

  const read = async (): Promise<string> => {
    if (src.kind === "url") {
      const text = await fetchConfigText(src.url);
      checkPinned(text, src.url, src.sha256);
      return text;
    }
    try {
      return readFileSync(src.path, "utf8");
    } catch (err) {
      throw new ConfigError(src.path, [{ path: "(file)", message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` }]);
    }
  };

  const run = async (): Promise<ReloadResult> => {
    let text: string;
    try {
      text = await read();
    } catch (err) {
      const error = err instanceof ConfigError ? err.message : String(err);
      opts.logger?.error({ source: where, error }, "config reload failed: keeping the config in force");
      return { status: "invalid", error };
    }
    const sum = checksum(text);
    if (sum === lastSum || sum === lastBadSum) return { status: "unchanged" };
    let next: LoadedConfig;
    try {
      next = loadConfigText(text, where, opts.overrides, opts.env);
    } catch (err) {
      lastBadSum = sum;
      const error = err instanceof ConfigError ? err.message : String(err);
      opts.logger?.error({ source: where, error }, "new config refused: keeping the config in force");
      return { status: "invalid", error };
    }
    lastSum = sum;
    lastBadSum = "";
    if (next.version === opts.current().version) return { status: "unchanged" };
    const from = opts.current().version;
    const changes = opts.apply(next);
    opts.logger?.info({ source: where, from, version: next.version, ...changes }, "config reloaded");
    return { status: "reloaded", version: next.version, ...changes };
  };

  const check = (): Promise<ReloadResult> => {
    // One check at a time; a change seen during a check is picked up by the next one.
    if (running) return running;
    const p = run().finally(() => {
      running = undefined;
    });
    running = p;
    void p.then((r) => opts.onResult?.(r));
    return p;
  };

  const settings = () => opts.current().config.server.reload;

  const schedule = (ms: number) => {
    cancelTimer?.();
    cancelTimer = clock.setTimeout(() => {
      cancelTimer = undefined;
      // Polls run at a fixed rate; a slow fetch is not started twice (check() is shared).
      if (!stopped && src.kind === "url") schedule(settings().poll_interval_s * 1000);
      void check();
    }, ms);
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      if (src.kind === "url") {
        schedule(settings().poll_interval_s * 1000);
        return;
      }
      if (!settings().watch) return;
      const name = basename(src.path);
      try {
        watcher = watch(dirname(src.path), { persistent: false }, (_event, file) => {
          // Editors replace the file, ConfigMaps swap a symlinked directory: react to any change
          // of the file or of a name that is not ours but may lead to it ("..data").
          if (file && file !== name && !String(file).startsWith("..")) return;
          schedule(settings().debounce_ms);
        });
        watcher.on("error", (err) => opts.logger?.warn({ source: where, error: err.message }, "config watch failed; SIGHUP still reloads"));
      } catch (err) {
        opts.logger?.warn({ source: where, error: (err as Error).message }, "cannot watch the config file; SIGHUP still reloads");
      }
    },
    stop() {
      stopped = true;
      cancelTimer?.();
      cancelTimer = undefined;
      watcher?.close();
      watcher = undefined;
    },
    check,
  };
}
