/**
 * Debian's chromium driven by playwright-core, for the console and MCP App tests.
 * `npm test` provisions /usr/bin/chromium (scripts/provision.sh); SEALAB_SKIP_BROWSER=1 skips these tests.
 * The flags keep chromium off the network this machine does not have (no background fetches).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT } from './cli.js';

export const SKIP_BROWSER = process.env.SEALAB_SKIP_BROWSER === '1';
export const CHROMIUM = process.env.SEALAB_CHROMIUM ?? '/usr/bin/chromium';

/** Where screenshots land for review (results/ is git-ignored except what the README shows). */
export const SCREENSHOTS = join(ROOT, 'results');

export interface BrowserSession {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: run \`bash scripts/provision.sh\` (installs Debian's chromium), or set SEALAB_SKIP_BROWSER=1 to skip browser tests`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'sealab-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    env: { ...process.env, HOME: profile },
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects console errors and uncaught page errors; assert it is empty at the end of a test. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/** Saves a full-page screenshot as results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
