/**
 * The llmpool dashboard: polls GetPoolStats over Connect-Web and draws each provider's
 * health, traffic share, latency and cost. `?refresh=MS` sets the poll interval (default 2000).
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { LLMPool, ProviderState, type GetPoolStatsResponse, type ProviderStats } from "../../../gen/llmpool/v1/llmpool_pb.js";
import { donut, groupedBars, hbars, lineChart, PALETTE } from "./charts.js";
import { count, duration, ms, pct, RateHistory, usd } from "./format.js";

const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(250, Number(params.get("refresh")) || 2000);
const KEY_STORAGE = "llmpool.dashboard.key";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const withKey: Interceptor = (next) => (req) => {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) req.header.set("authorization", `Bearer ${key}`);
  return next(req);
};
const client = createClient(LLMPool, createConnectTransport({ baseUrl: location.origin, interceptors: [withKey] }));

/**
 * h("td", { class: "x" }, "text", child). Styles go through the CSSOM (`style` here is an
 * object), which the page's content security policy allows, unlike style attributes.
 */
function h(tag: string, attrs: Record<string, string> & { style?: never } = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function styled(e: HTMLElement, style: Partial<CSSStyleDeclaration>): HTMLElement {
  Object.assign(e.style, style);
  return e;
}

const stateName = (s: ProviderState) => (ProviderState[s] ?? "UNSPECIFIED").toLowerCase();
const colors = new Map<string, string>();
const colorOf = (name: string) => {
  let c = colors.get(name);
  if (!c) colors.set(name, (c = PALETTE[colors.size % PALETTE.length]!));
  return c;
};

// 15 minutes at 1 s: the server's own history (/dashboard/history) seeds it on load.
const history = new RateHistory(900);

/** Fill the rate chart from the server's history, so the first view already has a line. */
async function seedHistory(): Promise<void> {
  try {
    const res = await fetch("/dashboard/history", { headers: { accept: "application/json" } });
    if (!res.ok) return;
    const h = (await res.json()) as { at: number[]; providers: Record<string, { requests: (number | null)[] }> };
    h.at.forEach((at, i) => {
      const counters = new Map<string, number>();
      for (const [name, p] of Object.entries(h.providers)) {
        const v = p.requests[i];
        if (v !== null && v !== undefined) counters.set(name, v);
      }
      history.push(at, counters);
    });
  } catch {
    // No history (an older server): the chart fills as the page polls.
  }
}

/** What the badge says: a provider in rotation but failing often is not a green "healthy". */
function badgeOf(p: ProviderStats): { cls: string; text: string } {
  const state = stateName(p.state);
  if ((state === "healthy" || state === "degraded") && p.errorRate >= 0.05) return { cls: "degraded", text: `degraded · ${pct(p.errorRate)} errors` };
  return { cls: state, text: state.replace(/_/g, " ") };
}
let paused = false;

function card(label: string, value: string, sub = "", id = ""): HTMLElement {
  return h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", id ? { class: "value", id } : { class: "value" }, value), h("div", { class: "sub" }, sub));
}

function renderCards(s: GetPoolStatsResponse): void {
  const t = s.totals!;
  const done = Number(t.successes) + Number(t.failures);
  $("cards").replaceChildren(
    card("Requests", count(t.requests), `${count(t.upstreamCalls)} upstream calls`, "total-requests"),
    card("Success rate", done > 0 ? pct(Number(t.successes) / done) : "–", `${count(t.failures)} failed`),
    card("In flight", String(t.inFlight), `queue ${t.queueDepth}`),
    card("Latency p50 / p99", `${ms(t.latency?.p50Ms ?? 0)}`, `p99 ${ms(t.latency?.p99Ms ?? 0)}`),
    card("Retries / fallbacks", `${count(t.retries)} / ${count(t.fallbacks)}`),
    card("Tokens", count(t.promptTokens + t.completionTokens), `${count(t.promptTokens)} in · ${count(t.completionTokens)} out`),
    card("Cost", usd(t.costUsd), "since the ledger began", "total-cost"),
    card("Healthy", `${s.healthyProviders} / ${s.providers.length}`, "providers in rotation"),
  );
}

function renderCharts(s: GetPoolStatsResponse): void {
  history.push(Date.now(), new Map(s.providers.map((p) => [p.name, Number(p.requests)])));
  $("chart-rate").replaceChildren(
    lineChart(
      s.providers.map((p) => ({ name: p.name, color: colorOf(p.name), values: history.series.get(p.name) ?? [] })),
      { unit: "/s", width: 1300, height: 220, slots: Math.max(60, ...[...history.series.values()].map((v) => v.length)) },
    ),
  );
  $("chart-share").replaceChildren(donut(s.providers.map((p) => ({ name: p.name, color: colorOf(p.name), value: Number(p.requests) }))));
  $("chart-latency").replaceChildren(
    groupedBars(
      s.providers.map((p) => ({ name: p.name, values: [p.latency?.p50Ms ?? 0, p.latency?.p95Ms ?? 0, p.latency?.p99Ms ?? 0] })),
      ["p50", "p95", "p99"],
      ["#9db8f2", "#3b6fe0", "#1d3f8f"],
    ),
  );
  const byProvider = new Map(s.costByProvider.map((c) => [c.key, c.costUsd]));
  $("chart-cost").replaceChildren(
    hbars(s.providers.map((p) => ({ name: p.name, color: colorOf(p.name), value: byProvider.get(p.name) ?? p.costUsd, label: usd(byProvider.get(p.name) ?? p.costUsd) }))),
  );
}

function providerRow(p: ProviderStats): HTMLElement {
  const badge = badgeOf(p);
  const rl = p.rateLimit;
  const headroom = rl && rl.rpmLimit > 0 ? `${rl.rpmRemaining}/${rl.rpmLimit} rpm` : "–";
  return h(
    "tr",
    { "data-provider": p.name, "data-state": badge.cls },
    h("td", { class: "name" }, styled(h("span", { class: "swatch" }), { background: colorOf(p.name) }), h("span", { class: "pname" }, p.name), h("span", { class: "ptype" }, p.type)),
    h("td", {}, h("span", { class: `badge ${badge.cls}` }, badge.text)),
    h("td", {}, String(p.inFlight)),
    h("td", { class: "requests" }, count(p.requests)),
    h("td", {}, `${count(p.successes)} / ${count(p.failures)}`),
    h("td", {}, `${count(p.retries)} / ${count(p.fallbacks)}`),
    h("td", {}, pct(p.errorRate)),
    h("td", {}, pct(p.trafficShare)),
    // Racing: wins / races entered, and the win rate.
    h("td", { class: "race-wins" }, Number(p.raceEntries) > 0 ? `${count(p.raceWins)} / ${count(p.raceEntries)} (${pct(Number(p.raceWins) / Number(p.raceEntries))})` : "–"),
    h("td", {}, `${ms(p.latency?.p50Ms ?? 0)} / ${ms(p.latency?.p95Ms ?? 0)} / ${ms(p.latency?.p99Ms ?? 0)}`),
    h("td", {}, ms(p.ttft?.p50Ms ?? 0)),
    h("td", {}, headroom),
    h("td", {}, `${count(p.promptTokens)} / ${count(p.completionTokens)}`),
    h("td", { class: "cost" }, usd(p.costUsd)),
    h("td", { class: "err-text", title: p.lastError }, p.lastError || ""),
  );
}

function renderProviders(s: GetPoolStatsResponse): void {
  const head = ["Provider", "State", "In flight", "Requests", "OK / failed", "Retry / fallback", "Errors", "Share", "Races won", "p50 / p95 / p99", "TTFT p50", "Rate limit", "Tokens in / out", "Cost", "Last error"];
  $("providers").replaceChildren(h("thead", {}, h("tr", {}, ...head.map((c) => h("th", {}, c)))), h("tbody", {}, ...s.providers.map(providerRow)));
}

function renderBudgets(s: GetPoolStatsResponse): void {
  if (s.budgets.length === 0) {
    $("budgets").replaceChildren(h("p", { class: "empty" }, "No budgets configured (cost.budgets, providers[].budget)."));
    return;
  }
  const rows = s.budgets.map((b) => {
    const frac = b.limitUsd > 0 ? Math.min(1, b.spentUsd / b.limitUsd) : 0;
    return h(
      "tr",
      { "data-budget": `${b.scope}:${b.key}:${b.period}` },
      h("td", {}, `${b.scope} ${b.key || "(none)"}`),
      h("td", {}, b.period),
      h("td", {}, h("div", { class: b.exhausted ? "bar over" : "bar" }, styled(h("div"), { width: `${(frac * 100).toFixed(1)}%` }))),
      h("td", {}, `${usd(b.spentUsd)} / ${usd(b.limitUsd)}`),
    );
  });
  $("budgets").replaceChildren(h("table", {}, h("tbody", {}, ...rows)));
}

function renderCost(id: string, entries: GetPoolStatsResponse["costByModel"], keyLabel: string): void {
  const head = h("thead", {}, h("tr", {}, ...[keyLabel, "Calls", "Tokens in / out", "Cost"].map((c) => h("th", {}, c))));
  const body = entries.length
    ? entries.slice(0, 20).map((c) => h("tr", {}, h("td", {}, c.key || "(none)"), h("td", {}, count(c.requests)), h("td", {}, `${count(c.promptTokens)} / ${count(c.completionTokens)}`), h("td", {}, usd(c.costUsd))))
    : [h("tr", {}, h("td", { class: "empty", colspan: "4" }, "nothing priced yet"))];
  $(id).replaceChildren(head, h("tbody", {}, ...body));
}

/** The latest state changes across providers, newest first (GetPoolStats state_changes). */
function renderStateChanges(s: GetPoolStatsResponse): void {
  const rows = s.providers
    .flatMap((p) => p.stateChanges.map((c) => ({ provider: p.name, c })).reverse())
    .sort((a, b) => b.c.atUnixMs - a.c.atUnixMs)
    .slice(0, 12);
  const head = h("thead", {}, h("tr", {}, ...["Time", "Provider", "Change", "Why"].map((c) => h("th", {}, c))));
  const body = rows.length
    ? rows.map(({ provider, c }) =>
        h(
          "tr",
          {},
          h("td", {}, new Date(c.atUnixMs).toLocaleTimeString()),
          h("td", {}, provider),
          h("td", {}, `${stateName(c.fromState).replace(/_/g, " ")} → ${stateName(c.toState).replace(/_/g, " ")}`),
          h("td", { class: "err-text", title: c.reason }, c.reason),
        ),
      )
    : [h("tr", {}, h("td", { class: "empty", colspan: "4" }, "no state changes yet"))];
  $("state-changes").replaceChildren(head, h("tbody", {}, ...body));
}

function render(s: GetPoolStatsResponse): void {
  $("meta").textContent = `strategy ${s.strategy} · fallback ${s.fallback} · up ${duration(s.uptimeS)} · config ${s.configVersion}`;
  renderCards(s);
  renderCharts(s);
  renderProviders(s);
  renderBudgets(s);
  renderStateChanges(s);
  renderCost("cost-model", s.costByModel, "Model");
  renderCost("cost-tenant", s.costByTenant, "Tenant");
}

async function tick(): Promise<void> {
  if (paused) return;
  const status = $("status");
  try {
    const stats = await client.getPoolStats({});
    render(stats);
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    status.className = "status";
    document.body.dataset.ready = "true";
  } catch (err) {
    const e = ConnectError.from(err);
    status.textContent = `error: ${e.rawMessage}`;
    status.className = "status err";
    if (e.code === Code.Unauthenticated) $("auth").hidden = false;
  }
}

function start(): void {
  $("refresh-every").textContent = `${REFRESH_MS / 1000} s`;
  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").textContent = paused ? "Resume" : "Pause";
  });
  $("auth").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, ($("auth-key") as HTMLInputElement).value);
    $("auth").hidden = true;
    void tick();
  });
  void seedHistory().then(tick);
  // Never overlap polls: schedule the next one when this one is done.
  const loop = async () => {
    await tick();
    setTimeout(loop, REFRESH_MS);
  };
  setTimeout(loop, REFRESH_MS);
}

start();
