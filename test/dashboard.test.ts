/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core loads
 * /dashboard, sees every configured provider, watches the request count rise as traffic
 * flows, opens with charts drawn from the server's own history, shows a provider failing often
 * as degraded, fits a 1,366 x 768 laptop screen, and saves a screenshot (docs/dashboard.png,
 * shown in the README).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../src/dashboard/build.js";
import { startServer, user, type TestServer } from "./helpers/server.js";

const CHROMIUM = "/usr/bin/chromium";
const PROVIDERS = ["mock-fast", "mock-steady", "mock-flaky"];

let s: TestServer;
let assets: string;
let profile: string;
let browser: BrowserContext | undefined;

beforeAll(async () => {
  assets = await buildDashboard(mkdtempSync(join(tmpdir(), "llmpool-dash-")));
  s = await startServer(
    {
      pool: { default_model: "mock" },
      cost: { budgets: { tenants: { acme: { daily_usd: 5 } } } },
      providers: PROVIDERS.map((name, i) => ({
        name,
        type: "mock",
        models: ["mock"],
        pricing: { input_per_1m: 0.15 * (i + 1), output_per_1m: 0.6 * (i + 1) },
        budget: i === 1 ? { daily_usd: 10 } : undefined,
        mock: { latency_ms: 2 + 6 * i, jitter_ms: 4, failure_rate: name === "mock-flaky" ? 0.3 : 0, seed: 7, reply: `Hello from ${name}: {prompt}` },
      })),
    },
    { dashboardDir: assets },
  );
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await s?.close();
});

async function traffic(n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      (i % 4 === 0
        ? (async () => {
            for await (const _c of s.connect.streamChat({ messages: [user(`stream ${i}`)], metadata: { tenant: "acme" } }));
          })()
        : s.connect.chat({ messages: [user(`hello ${i}`)], metadata: { tenant: i % 2 ? "acme" : "globex" } })
      ).catch(() => undefined),
    ),
  );
}

describe("dashboard", () => {
  it("serves its assets with a strict content security policy", async () => {
    const page = await fetch(`${s.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/dashboard/app.js">');
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
    const js = await fetch(`${s.url}/dashboard/app.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await js.text()).toContain("getPoolStats");
    expect((await fetch(`${s.url}/dashboard/../package.json`)).status).not.toBe(200);
    expect((await fetch(`${s.url}/dashboard/secret.txt`)).status).toBe(404);
  });

  it("can be turned off", async () => {
    const off = await startServer({ server: { dashboard: { enabled: false } }, providers: [{ name: "m", type: "mock", models: ["m"] }] }, { dashboardDir: assets });
    try {
      const res = await fetch(`${off.url}/dashboard`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain("<html");
    } finally {
      await off.close();
    }
  });

  it("shows every provider and a request count that rises as traffic flows", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`needs Debian chromium at ${CHROMIUM} (.ci/run installs it)`);
    profile = mkdtempSync(join(tmpdir(), "llmpool-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1366, height: 768 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    // Server-side history: a few samples with traffic between them, before the page exists.
    for (let i = 0; i < 4; i++) {
      await traffic(8);
      s.server.history.sample();
    }
    const hist = (await (await fetch(`${s.url}/dashboard/history`)).json()) as { at: number[]; providers: Record<string, { requests: number[] }> };
    expect(hist.at.length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(hist.providers).sort()).toEqual([...PROVIDERS].sort());
    // One poll only (a long refresh): a line needs two points, so any line comes from history.
    await page.goto(`${s.url}/dashboard?refresh=600000`);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });
    expect(await page.locator("#chart-rate svg path").count()).toBeGreaterThan(0);

    await page.goto(`${s.url}/dashboard?refresh=250`);
    for (const name of PROVIDERS) await page.locator(`tr[data-provider="${name}"]`).waitFor({ timeout: 15_000 });
    const total = async () => Number((await page.locator("#total-requests").textContent())?.replace(/\D/g, ""));
    const before = await total();
    expect(before).toBeGreaterThanOrEqual(32);

    await traffic(24);
    await page.waitForFunction((n) => Number(document.getElementById("total-requests")?.textContent?.replace(/\D/g, "")) >= n, before + 24, { timeout: 15_000 });
    expect(await total()).toBeGreaterThanOrEqual(before + 24);

    // Health, share, latency and cost are drawn for every provider.
    for (const name of PROVIDERS) {
      const row = page.locator(`tr[data-provider="${name}"]`);
      await expect(row.locator(".badge").textContent()).resolves.toMatch(/healthy|degraded/);
      expect(Number((await row.locator("td.requests").textContent())?.replace(/\D/g, ""))).toBeGreaterThan(0);
    }
    expect(await page.locator("#chart-share svg path").count()).toBeGreaterThanOrEqual(PROVIDERS.length);
    expect(await page.locator("#chart-latency svg rect").count()).toBeGreaterThan(PROVIDERS.length);
    expect(await page.locator("#chart-rate svg path").count()).toBeGreaterThan(0);
    await expect(page.locator('[data-budget="tenant:acme:daily"]').count()).resolves.toBe(1);
    await expect(page.locator("#cost-tenant").textContent()).resolves.toContain("globex");

    // 30% failures is not a green "healthy": send mock-flaky its own traffic (the balancer may
    // have steered away from it), then wait for the next poll to show it.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.connect.chat({ messages: [user(`flaky ${i}`)] }, { headers: { "x-llmpool-provider": "mock-flaky" } }).catch(() => undefined)),
    );
    await page.waitForFunction(() => /^degraded · [\d.]+% errors$/.test(document.querySelector('tr[data-provider="mock-flaky"] .badge')?.textContent ?? ""), undefined, { timeout: 10_000 });
    mkdirSync("docs", { recursive: true });
    await page.screenshot({ path: join("docs", "dashboard.png"), fullPage: true });
    // The provider table fits the laptop screen: nothing (the Cost column) scrolled out of view.
    const fit = await page.evaluate(() => {
      const box = document.querySelector(".scroll")!;
      return { scroll: box.scrollWidth, client: box.clientWidth };
    });
    expect(fit.scroll).toBeLessThanOrEqual(fit.client);
    // No panel is left empty: every chart drew something.
    for (const id of ["chart-rate", "chart-share", "chart-latency", "chart-cost"]) expect(await page.locator(`#${id} svg *`).count()).toBeGreaterThan(0);

    expect(existsSync(join("docs", "dashboard.png"))).toBe(true);
    expect(errors).toEqual([]);
  }, 60_000);
});
