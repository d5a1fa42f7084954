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

/**
 * Visible text on the page whose colour against its background is below WCAG AA (4.5:1, or 3:1
 * for large or bold-large text), as "text (ratio)". Backgrounds are read up the tree to the first
 * opaque one; text over images (the chart's canvas) is not checked.
 */
export async function lowContrastText(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      const text = n.textContent.trim();
      if (!text || !el || el.closest('[hidden], .uplot .u-over, canvas')) continue;
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      if (style.visibility === 'hidden' || style.display === 'none' || box.width === 0 || Number(style.opacity) < 0.5) continue;
      const fg = rgb(style.color).slice(0, 3);
      const [l1, l2] = [lum(fg), lum(background(el))].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push(text.slice(0, 40) + ' (' + ratio.toFixed(2) + ')');
    }
    return out;
  })()`);
}
