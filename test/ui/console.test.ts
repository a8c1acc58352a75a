import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSession, launchBrowser, SKIP_BROWSER, screenshot, watchErrors } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';
import { type ConsoleWorld, consoleWorld, HOLDBACK, pendingDeploy } from '../helpers/console-world.js';

/**
 * The console in Debian's chromium against the real HTTP server, without a token (open as the REST
 * API is on loopback): every page loads with no console error, and what it draws equals what the API
 * answers. Screenshots land in results/; the experiment page's also in docs/images for the README
 * when SEALAB_UPDATE_SCREENSHOTS=1.
 */
describe.skipIf(SKIP_BROWSER)('console pages in a real browser', () => {
  let w: ConsoleWorld;
  let b: BrowserSession;
  let page: Page;
  let errors: string[];
  let approvalId: string;

  beforeAll(async () => {
    w = await consoleWorld();
    approvalId = (await pendingDeploy(w, 'home-held-deploy')).approvalId;
    // Two SLO samples with serving traffic between them, so the SLO chart has budgets to draw.
    await w.app.slo.sample();
    for (let i = 0; i < 20; i++) await w.api(`/v1/surfaces/home/layout?unit=slo-unit-${i}`);
    await w.app.slo.sample();
    b = await launchBrowser();
    page = await b.browser.newPage({ viewport: { width: 1200, height: 900 } });
    errors = watchErrors(page);
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await w?.close();
  });

  const api = async (path: string) => (await w.api(path)).json() as Promise<any>;

  it('experiments by surface and status: filters work from the keyboard', async () => {
    await page.goto(`${w.base}/ui`);
    expect(await page.title()).toBe('Experiments · sealab');
    const listed = await page.locator('tr[data-experiment]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.experiment));
    const all = (await api('/v1/experiments')).experiments.map((e: { id: string }) => e.id);
    expect(listed.sort()).toEqual(all.sort());
    await screenshot(page, 'console-experiments');

    await page.focus('#f-surface');
    await page.keyboard.press('ArrowDown'); // All surfaces → Home
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-status');
    await page.selectOption('#f-status', 'running');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Apply filters');
    await Promise.all([page.waitForURL(/status=running/), page.keyboard.press('Enter')]);
    expect(new URL(page.url()).searchParams.get('surface')).toBe('home');
    const running = await page.locator('tr[data-experiment]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.experiment));
    expect(running.sort()).toEqual([w.focus.id, w.albums.id].sort());
    expect(errors).toEqual([]);
  });

  it('experiment page: the effects and the decision drawn equal GET /v1/experiments/{id}/metrics', async () => {
    await page.goto(`${w.base}/ui/experiments/${w.focus.id}`);
    await page.waitForSelector('#results[data-loaded="true"]');
    const drawn = await page
      .locator('#results [data-metric]')
      .evaluateAll((els) =>
        els.map((e) => ({ ...(e as HTMLElement).dataset })).map(({ metric, variant, estimate, lower, upper }) => ({ metric, variant, estimate, lower, upper })),
      );
    const report = await api(`/v1/experiments/${w.focus.id}/metrics`);
    const expected = report.metrics.flatMap((m: any) =>
      m.variants
        .filter((v: any) => v.absolute)
        .map((v: any) => ({
          metric: m.metricId,
          variant: v.variant,
          estimate: String(v.absolute.estimate),
          lower: String(v.absolute.lower),
          upper: String(v.absolute.upper),
        })),
    );
    expect(expected.length).toBeGreaterThanOrEqual(2);
    const key = (x: { metric?: string; variant?: string }) => `${x.metric}/${x.variant}`;
    // One element per effect at least; each carries exactly the API's numbers.
    const byKey = new Map(drawn.map((d) => [key(d), d]));
    for (const e of expected) expect(byKey.get(key(e)), key(e)).toEqual(e);
    expect(await page.locator('#results [data-decision]').first().getAttribute('data-decision')).toBe(report.decision.decision);

    const ramp = await api(`/v1/experiments/${w.focus.id}/ramp`);
    // The page's ramp summary and the results view's ramp timeline both carry the stage.
    const stages = await page.locator('[data-ramp-stage]').evaluateAll((els) => els.map((e) => e.getAttribute('data-ramp-stage')));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toBe(String(ramp.stage));
    expect(await page.locator('[data-ramp-allocation]').getAttribute('data-ramp-allocation')).toBe(String(ramp.allocationPercent));
    // The ramp's history (from the audit trail) is drawn on the timeline, one list item per event.
    const rampHistory = (await api(`/v1/experiments/${w.focus.id}/metrics/history`)).ramp as { kind: string; at: string }[];
    expect(rampHistory.length).toBeGreaterThanOrEqual(1);
    const rampDrawn = await page
      .locator('[data-ramp-event]')
      .evaluateAll((els) => els.map((e) => [e.getAttribute('data-ramp-event'), e.getAttribute('data-at')]));
    expect(rampDrawn).toEqual(rampHistory.map((e) => [e.kind, e.at]));
    const audit = (await api(`/v1/experiments/${w.focus.id}/audit`)).audit;
    expect(await page.locator('tr[data-audit-id]').count()).toBe(audit.length);
    expect(await page.locator('tr[data-audit-id] [data-actor]').first().textContent()).toContain(audit[0].actor);

    const shot = await screenshot(page, 'console-experiment');
    // The README's image is refreshed on request only, so a test run leaves the tree clean.
    if (process.env.SEALAB_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(ROOT, 'docs/images'), { recursive: true });
      copyFileSync(shot, join(ROOT, 'docs/images/console-experiment.png'));
    }
    expect(errors).toEqual([]);
  });

  it("surface page: the bucket map's ranges equal the surface's allocation from /v1/surfaces/{id}", async () => {
    await page.goto(`${w.base}/ui/surfaces/home`);
    const rects = await page.locator('svg.bucket-map rect[data-owner]').evaluateAll((els) =>
      els.map((e) => ({
        owner: (e as SVGElement).dataset.owner!,
        kind: (e as SVGElement).dataset.kind!,
        start: Number((e as SVGElement).dataset.start),
        end: Number((e as SVGElement).dataset.end),
      })),
    );
    const rangesOf = (owner: string) => rects.filter((r) => r.owner === owner).map((r) => [r.start, r.end]);
    const surface = await api('/v1/surfaces/home');
    for (const h of surface.holdbacks) expect(rangesOf(h.id)).toEqual(h.buckets);
    expect(rangesOf('long-term')).toEqual([HOLDBACK]);
    expect(surface.runningExperiments.map((e: { id: string }) => e.id).sort()).toEqual([w.focus.id, w.albums.id].sort());
    for (const e of surface.runningExperiments) {
      const owned = rangesOf(e.id);
      expect(owned.reduce((n, [a, b]) => n + b - a, 0)).toBe(e.buckets);
      expect(owned).toEqual((await api(`/v1/experiments/${e.id}`)).experiment.buckets);
    }
    // Free = what no experiment or holdback owns; every rect lies inside [0, bucketCount).
    const taken = new Set<number>();
    for (const r of rects.filter((x) => x.kind !== 'free')) for (let i = r.start; i < r.end; i++) taken.add(i);
    expect(rangesOf('free').reduce((n, [a, b]) => n + b - a, 0)).toBe(surface.bucketCount - taken.size);
    expect(rects.every((r) => r.start >= 0 && r.end <= surface.bucketCount && r.start < r.end)).toBe(true);
    // The text alternative lists the same owners, and the default layout is the catalog's.
    expect(await page.locator('tr[data-owner-row]').count()).toBe(surface.holdbacks.length + surface.runningExperiments.length + 1);
    const defaults = await page.locator('td[data-default-content]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.defaultContent));
    expect(defaults).toEqual([...surface.slots].sort((a: any, b: any) => a.position - b.position).map((s: any) => s.defaultContentId ?? ''));
    await screenshot(page, 'console-surface');
    expect(errors).toEqual([]);
  });

  it('approvals queue and SLO page load; the local principal may not approve its own request', async () => {
    await page.goto(`${w.base}/ui/approvals`);
    expect(await page.locator(`article[data-approval="${approvalId}"]`).count()).toBe(1);
    await screenshot(page, 'console-approvals');
    await Promise.all([page.waitForURL(/approve$/), page.click(`article[data-approval="${approvalId}"] button[data-action="approve"]`)]);
    expect(await page.locator('#notice').textContent()).toContain('may not approve it');
    expect((await api(`/v1/approvals/${approvalId}`)).approval.status).toBe('pending');
    // The refusal is answered 403 (chromium logs that status); nothing else went wrong.
    expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 403 (Forbidden)']);
    errors.length = 0;

    await page.goto(`${w.base}/ui/slo`);
    await page.waitForSelector('#slo-chart[data-loaded="true"]');
    const slo = await api('/v1/ops/slo');
    expect(await page.locator('tr[data-slo]').count()).toBe(slo.slos.length);
    // The chart (Observable Plot, under the console's CSP) labels each bar with the API's budget left.
    const budgets = slo.slos.filter((x: any) => x.budgetLeft !== null);
    expect(budgets.length).toBeGreaterThan(0);
    expect(await page.locator('#slo-chart svg[data-chart="slo-budget"] [aria-label="bar"] rect').count()).toBe(budgets.length);
    const labels = await page.locator('#slo-chart svg [aria-label="text"] text').allTextContents();
    expect(labels.sort()).toEqual(budgets.map((x: any) => `${(x.budgetLeft * 100).toFixed(1)}%`).sort());
    await screenshot(page, 'console-slo');
    expect(errors).toEqual([]);
  });
});
