#!/usr/bin/env node
/**
 * llmpool command line: serve, check-config, print-config, version.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { ConfigError, loadConfigFile } from "./config/load.js";
import { createReloader } from "./config/reload.js";
import { exposureProblem } from "./config/keys.js";
import { findConfigSource, loadEffectiveConfig } from "./config/source.js";
import { suggestKey } from "./config/suggest.js";
import { configWarnings } from "./config/warnings.js";
import { probeProviders } from "./providers/probe.js";
import type { Overrides } from "./config/overrides.js";
import { createLlmpoolServer } from "./server/server.js";
import { createLogger } from "./util/logger.js";
import { applyHeapGrowth } from "./server/heap-growth.js";
import { REDACTED, redactDeep } from "./util/redact.js";
import type { Config } from "./config/schema.js";
import { redactRedisUrl } from "./config/state-schema.js";
import { VERSION } from "./version.js";
import { loadDotenv } from "./config/dotenv.js";

const HELP = `llmpool ${VERSION}: one gRPC API in front of many LLM providers

Usage:
  llmpool serve [options]          serve (default command)
  llmpool check-config FILE        validate FILE and print every problem with its path
           [--probe]               ... then ask each provider's models endpoint what it serves
  llmpool print-config [options]   print the effective config (secrets redacted)
  llmpool version                  print the version
  llmpool help                     this text

Options (flag > LLMPOOL_* environment > config file > default):
  --config FILE                  config file (else $LLMPOOL_CONFIG, else ./llmpool.yaml,
                                 else the embedded default built from the environment);
                                 watched: changes apply without a restart (also on SIGHUP)
  --config-url URL               fetch the config over HTTP(S) instead, polled every
                                 server.reload.poll_interval_s     LLMPOOL_CONFIG_URL
  --config-sha256 HEX            refuse a --config-url body whose SHA-256 differs, at
                                 start and on every poll           LLMPOOL_CONFIG_SHA256
  --port N                       listen port                      LLMPOOL_PORT
  --host ADDR                    listen address                   LLMPOOL_HOST
  --strategy NAME                balancing strategy               LLMPOOL_STRATEGY
  --fallback POLICY              fallback policy                  LLMPOOL_FALLBACK
  --max-retries N                retries after a failed attempt   LLMPOOL_MAX_RETRIES
  --no-warmup                    skip connection warmup           LLMPOOL_WARMUP=false
  --health-check-interval S      seconds between health checks    LLMPOOL_HEALTH_CHECK_INTERVAL
  --log-level LEVEL              trace|debug|info|warn|error      LLMPOOL_LOG_LEVEL
  --warmup-concurrency N         providers warmed at once         LLMPOOL_WARMUP_CONCURRENCY
  --min-healthy N                providers needed for /readyz     LLMPOOL_MIN_HEALTHY
  -h, --help                     this text
`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "config-url": { type: "string" },
      "config-sha256": { type: "string" },
      port: { type: "string", short: "p" },
      host: { type: "string" },
      strategy: { type: "string" },
      fallback: { type: "string" },
      "max-retries": { type: "string" },
      "no-warmup": { type: "boolean" },
      "health-check-interval": { type: "string" },
      "log-level": { type: "string" },
      "warmup-concurrency": { type: "string" },
      "min-healthy": { type: "string" },
      probe: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function overridesFrom(values: ReturnType<typeof parse>["values"]): Overrides {
  return {
    port: values.port,
    host: values.host,
    strategy: values.strategy,
    fallback: values.fallback,
    maxRetries: values["max-retries"],
    warmup: values["no-warmup"] ? false : undefined,
    healthCheckInterval: values["health-check-interval"],
    logLevel: values["log-level"],
    warmupConcurrency: values["warmup-concurrency"],
    minHealthy: values["min-healthy"],
  };
}

function redactedConfig(config: Config) {
  // Every registered secret (keys, header values, URL credentials) wherever it appears, and
  // the key fields themselves by name.
  const copy = redactDeep(config);
  if (config.state.url) copy.state.url = redactRedisUrl(config.state.url);
  for (const p of copy.providers) if (p.api_key) p.api_key = REDACTED;
  for (const p of copy.providers) if (p.aws_secret_access_key) p.aws_secret_access_key = REDACTED;
  for (const p of copy.providers) if (p.aws_session_token) p.aws_session_token = REDACTED;
  copy.server.auth.api_keys = copy.server.auth.api_keys.map(() => REDACTED);
  for (const k of copy.server.auth.keys) if (k.key) k.key = REDACTED;
  return copy;
}

async function serve(values: ReturnType<typeof parse>["values"]): Promise<void> {
  const overrides = overridesFrom(values);
  const where = { config: values.config, configUrl: values["config-url"], configSha256: values["config-sha256"] };
  const dotenv = loadDotenv(where);
  const loaded = await loadEffectiveConfig({ ...where, overrides });
  // Refuse before starting anything: a public address with no gateway key.
  const refused = exposureProblem(loaded.config.server);
  if (refused) throw new Error(refused);
  const logger = createLogger(loaded.config.log.level);
  for (const w of configWarnings(loaded.config)) logger.warn({ path: w.path }, w.message);
  const heapGrowth = (percent: number) => {
    const problem = applyHeapGrowth(percent);
    if (problem) logger.warn({ path: "server.heap_growth_percent" }, problem);
  };
  heapGrowth(loaded.config.server.heap_growth_percent);
  const server = await createLlmpoolServer({ loaded, logger });
  const source = findConfigSource(where);
  const apply = (next: typeof loaded) => {
    heapGrowth(next.config.server.heap_growth_percent);
    return server.reload(next);
  };
  const reloader = source && createReloader({ source, overrides, logger, current: () => server.loaded, apply });
  const addr = await server.listen();
  logger.info(
    {
      address: `${addr.address}:${addr.port}`,
      config: loaded.source,
      config_version: loaded.version,
      ...(dotenv ? { dotenv } : {}),
      strategy: loaded.config.pool.strategy,
      heap_growth_percent: loaded.config.server.heap_growth_percent,
      providers: loaded.config.providers.map((p) => `${p.name} (${p.type})`),
    },
    "llmpool serving gRPC, gRPC-Web and Connect",
  );
  reloader?.start();
  process.on("SIGHUP", () => void reloader?.check());
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    reloader?.stop();
    logger.info({ signal, in_flight: server.pool.totals.inFlight }, "shutting down: draining calls in flight");
    server.close().then(
      () => {
        logger.info("stopped");
        logger.flush?.();
        process.exit(0);
      },
      (err: Error) => {
        logger.error({ err: err.message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

const OPTION_NAMES = ["config", "config-url", "config-sha256", "port", "host", "strategy", "fallback", "max-retries", "no-warmup", "health-check-interval", "log-level", "warmup-concurrency", "min-healthy", "probe", "help"];

/** parseArgs' errors in an operator's words: which option, and what was probably meant. */
function argumentProblem(err: Error & { code?: string }): string {
  // parseArgs quotes the option as '--name' or '-p, --port <value>': take its long form.
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? "";
  const flag = /--[A-Za-z0-9-]+/.exec(quoted)?.[0] ?? /-[A-Za-z0-9]/.exec(quoted)?.[0];
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) {
    const hint = suggestKey(flag.replace(/^-+/, ""), OPTION_NAMES);
    return `unknown option ${flag}${hint ? ` (did you mean --${hint}?)` : ""}`;
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
    return /argument missing/.test(err.message) ? `option ${flag} needs a value` : `option ${flag} takes no value`;
  }
  return err.message.split(". ")[0]!;
}

async function checkConfig(file: string, probe: boolean): Promise<number> {
  const loaded = loadConfigFile(file);
  const c = loaded.config;
  process.stdout.write(
    `${file}: OK (version ${loaded.version}; ${c.providers.length} provider(s), strategy ${c.pool.strategy}, fallback ${c.pool.fallback})\n`,
  );
  for (const w of configWarnings(c)) process.stderr.write(`warning: ${w.path}: ${w.message}\n`);
  if (!probe) return 0;
  const reports = await probeProviders(c);
  for (const r of reports) process.stdout.write(`${r.ok ? "ok  " : "FAIL"} ${r.name} (${r.type}): ${r.summary}\n`);
  if (reports.length === 0) process.stdout.write("no provider with an upstream to probe\n");
  return reports.every((r) => r.ok) ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`llmpool: ${argumentProblem(err as Error & { code?: string })}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? "serve";
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    switch (command) {
      case "serve":
        await serve(values);
        return -1; // keep running
      case "check-config": {
        const file = positionals[1] ?? values.config;
        if (!file) {
          process.stderr.write("usage: llmpool check-config FILE [--probe]\n");
          return 2;
        }
        return await checkConfig(file, values.probe === true);
      }
      case "print-config": {
        loadDotenv({ config: values.config, configUrl: values["config-url"] });
        const loaded = await loadEffectiveConfig({ config: values.config, configUrl: values["config-url"], configSha256: values["config-sha256"], overrides: overridesFrom(values) });
        process.stdout.write(`# source: ${loaded.source}, version ${loaded.version}\n`);
        process.stdout.write(stringify(redactedConfig(loaded.config)));
        return 0;
      }
      case "help":
        process.stdout.write(HELP);
        return 0;
      case "version":
        process.stdout.write(`llmpool ${VERSION}\n`);
        return 0;
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    process.stderr.write(`llmpool: ${(err as Error).message ?? err}\n`);
    return 1;
  }
}

const isMain = (() => {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();
if (isMain) {
  main(process.argv.slice(2)).then((code) => {
    if (code >= 0) process.exit(code);
  });
}
