import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/store/tokens-file.js';
import { type BrowserSession, launchBrowser, SKIP_BROWSER, screenshot, watchErrors } from '../helpers/browser.js';
import { type ConsoleWorld, consoleWorld, pendingDeploy } from '../helpers/console-world.js';

/**
 * The console with named tokens: login, the approvals queue driven by the keyboard, and the approval
 * seen through the API and the audit trail. The agent that asks is `token:agent`; the person who
 * approves is `token:alice` (read + approve), signed in with her token through the login page.
 */
describe.skipIf(SKIP_BROWSER)('console sign-in and approvals in a real browser', () => {
  let dir: string;
  let w: ConsoleWorld;
  let b: BrowserSession;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let alice: string;
  let held: { approvalId: string; experimentId: string };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sealab-console-'));
    const file = path.join(dir, 'tokens.json');
    const agent = createToken(file, { name: 'agent', scopes: ['deploy'] }).secret;
    alice = createToken(file, { name: 'alice', scopes: ['read', 'approve'] }).secret;
    w = await consoleWorld({ tokensFile: file, bearer: agent });
    held = await pendingDeploy(w, 'home-held-deploy');
    b = await launchBrowser();
    context = await b.browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    errors = watchErrors(page);
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (p: string) => (await w.api(p)).json() as Promise<any>;

  it('a page sends a browser without a session to the login page; a wrong token is refused with a message; the right one signs in', async () => {
    await page.goto(`${w.base}/ui/approvals`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/ui/approvals');
    await screenshot(page, 'console-login');

    await page.fill('#token', 'not-a-real-token');
    await Promise.all([page.waitForLoadState('load'), page.press('#token', 'Enter')]);
    expect(await page.locator('[role="alert"]').textContent()).toContain('That token was refused');
    expect(await page.getAttribute('#token', 'aria-invalid')).toBe('true');
    expect(await context.cookies()).not.toContainEqual(expect.objectContaining({ name: 'sealab_session' }));
    // The refusal is a 401 page (chromium logs that status); nothing else failed.
    expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    errors.length = 0;

    await page.fill('#token', alice);
    await Promise.all([page.waitForURL(/\/ui\/approvals$/), page.click('button[type="submit"]')]);
    expect(await page.locator('.who').textContent()).toContain('token:alice');
    const session = (await context.cookies()).find((c) => c.name === 'sealab_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    expect(errors).toEqual([]);
  });

  it('keyboard: Tab reaches the controls in reading order, Enter on Approve applies the step as the signed-in person', async () => {
    await page.goto(`${w.base}/ui/approvals`);
    const card = `article[data-approval="${held.approvalId}"]`;
    expect(await page.locator(card).count()).toBe(1);
    await screenshot(page, 'console-approvals-queue');

    const order: string[] = [];
    const focused = () =>
      page.evaluate(() => {
        const e = document.activeElement as HTMLElement | null;
        if (!e) return '';
        const label = e.id ? document.querySelector(`label[for="${e.id}"]`)?.textContent : null;
        return `${e.tagName.toLowerCase()}:${(label ?? e.textContent ?? '').trim()}`;
      });
    for (let i = 0; i < 40 && !order.at(-1)?.startsWith('button:Approve'); i++) {
      await page.keyboard.press('Tab');
      order.push(await focused());
      if (order.at(-1)?.startsWith('input:Approval note')) await page.keyboard.type('guardrails reviewed');
    }
    expect(order[0]).toBe('a:Skip to main content');
    const nav = ['a:Experiments', 'a:Surface: Home', 'a:Surface: Now Playing', 'a:Surface: Search', 'a:Approvals 1', 'a:SLOs', 'button:Log out'];
    expect(order.slice(2, 2 + nav.length)).toEqual(nav);
    expect(order.slice(-3)).toEqual([`a:${held.experimentId}`, 'input:Approval note (optional)', 'button:Approve']);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('input:Reason to reject (required)');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('button:Reject');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('button:Approve');

    await Promise.all([page.waitForURL(/approve$/), page.keyboard.press('Enter')]);
    expect(await page.locator('#notice').textContent()).toContain(`Approved ${held.approvalId}`);
    await screenshot(page, 'console-approvals-done');

    const { approval } = await api(`/v1/approvals/${held.approvalId}`);
    expect(approval).toMatchObject({ status: 'applied', decidedBy: 'rest:token:alice', decisionReason: 'guardrails reviewed' });
    expect((await api(`/v1/experiments/${held.experimentId}`)).experiment.status).toBe('running');
    const { audit } = await api(`/v1/experiments/${held.experimentId}/audit`);
    const deployed = audit.find((a: any) => a.confirmation?.via === 'approval');
    expect(deployed).toMatchObject({ actor: 'rest:token:agent', confirmation: { approvalId: held.approvalId, approvedBy: 'rest:token:alice' } });

    await page.goto(`${w.base}/ui/experiments/${held.experimentId}`);
    await page.waitForSelector('#results[data-loaded="true"]');
    expect(await page.locator('table.audit').textContent()).toContain('approved by rest:token:alice');
    await screenshot(page, 'console-approved-experiment');
    expect(errors).toEqual([]);
  });

  it('logging out ends the session: pages go back to the login page', async () => {
    await page.goto(`${w.base}/ui`);
    await Promise.all([page.waitForURL(/\/ui\/login$/), page.click('button:has-text("Log out")')]);
    expect((await context.cookies()).find((c) => c.name === 'sealab_session')).toBeUndefined();
    await page.goto(`${w.base}/ui/slo`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    expect(errors).toEqual([]);
  });
});
