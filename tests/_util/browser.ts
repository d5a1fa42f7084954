import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (CI installs it in .ci/run when missing). */
export const CHROMIUM = '/usr/bin/chromium';

/** Where end-to-end tests leave screenshots (git-ignored). */
export const ARTIFACTS = resolve('test-artifacts');

/** The README's screenshot, rewritten only when SURGEWATCH_UPDATE_SCREENSHOT=1. */
export const README_SCREENSHOT = resolve('docs/dashboard.png');
export const updateReadmeScreenshot = process.env.SURGEWATCH_UPDATE_SCREENSHOT === '1';

export interface Browser {
  /** A new tab (its own sessionStorage, so its own key) at `width` x `height`. */
  page(width?: number, height?: number): Promise<Page>;
  close(): Promise<void>;
}

/**
 * A real headless Chromium with a fresh profile, cut off from everything but the page under test
 * (no background fetches, no updates, no sync).
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this on CI)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'surgewatch-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const errors: string[] = [];
  context.on('weberror', (e) => errors.push(e.error().message));
  return {
    async page(width = 1280, height = 900) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      page.on('console', (m) => {
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      // A script error on the page is a failure even when every assertion held.
      if (errors.length > 0) throw new Error(`errors on the page:\n${errors.join('\n')}`);
    },
  };
}

/** Opens the dashboard at `base` and signs in with `key`, by keyboard as a user would. */
export async function signIn(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByLabel('API key', { exact: true }).press('Enter');
  await page.locator('#tabs').waitFor({ state: 'visible' });
}
