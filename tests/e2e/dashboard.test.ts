import { copyFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import type { AppContext } from '../../src/context.js';
import { ARTIFACTS, launchChromium, lowContrastText, README_SCREENSHOT, signIn, updateReadmeScreenshot, type Browser } from '../_util/browser.js';
import { createTopic, produce, testKafka } from '../_util/kafka.js';
import { servicePipeline } from '../_util/service-config.js';
import { serviceApiKey, uniqueId, waitFor } from '../_util/services.js';
import { SurgeStream } from '../_util/surge-stream.js';

/**
 * The dashboard in a real headless Chromium, against surgewatch on the real Kafka and Redis:
 * what a Trust & Safety analyst sees and does. The stream's surge is produced while the page is
 * open, so the feed must pick it up by itself.
 */
describe('dashboard in Chromium (Kafka, Redis)', () => {
  const id = uniqueId('dash');
  const topic = `${id}-signals`;
  const alertsTopic = `${id}-alerts`;
  const kafka = testKafka();
  const stream = new SurgeStream();
  const keys = { admin: serviceApiKey(id), viewer: `${id}-viewer-key-0123456789`, analyst: `${id}-analyst-key-0123456789`, editor: `${id}-editor-key-0123456789` };
  // Topic edits through the API must not touch the repository's own files.
  const topicsDir = mkdtempSync(join(tmpdir(), 'surgewatch-dash-topics-'));
  const setup = servicePipeline(
    id,
    'dash',
    SurgeStream.pipeline('dash', topic, alertsTopic).split('\n').slice(1).concat('semantic: { mode: off }'),
    {
      SURGEWATCH_API_KEYS: [`ops:admin:${keys.admin}`, `view:viewer:${keys.viewer}`, `ana:analyst:${keys.analyst}`, `ed:editor:${keys.editor}`].join(','),
      SURGEWATCH_TOPICS_DIR: topicsDir,
    },
  );
  const STEADY = 2000;
  const BACKGROUND = 120;
  const BAD_RECORDS = 2;
  /** A hashtag riding with the surge that no list has yet. */
  const EMERGING = '#quietnightpact';
  let ctx: AppContext;
  let base: string;
  let browser: Browser;
  let feedPage: Page;
  const asAdmin = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${keys.admin}` } });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const surgeAlert = async () => (await asAdmin<{ alerts: Alert[] }>('/v1/alerts?dimension=region%3DUS-TX')).alerts[0];
  const alertItem = (page: Page) => page.locator('#feed li.alert', { hasText: 'region=US-TX' });

  beforeAll(async () => {
    cpSync('config/topics', topicsDir, { recursive: true });
    await createTopic(kafka, topic, 2);
    // Some self-harm in US-TX all along, so the surge stands against a baseline, not against nothing.
    const background = Array.from({ length: BACKGROUND }, (_, k) => ({
      key: `bg${k}`,
      value: JSON.stringify({ id: `bg${k}`, ts: stream.now - 1_500_000 + k * 12_000, text: 'i want to die', surface: 'post', region: 'US-TX', author: `bg${k % 40}` }),
    }));
    await produce(kafka, topic, [...stream.steady(STEADY), ...background, { key: 'bad1', value: 'not json' }, { key: 'bad2', value: '{"id": 7}' }]);
    ctx = await setup.start(stream.now);
    base = ctx.apiUrl()!;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await setup.cleanup([topic, alertsTopic]);
    rmSync(topicsDir, { recursive: true, force: true });
  });

  it('shows a surge in the feed without a reload, marked as needing attention, and filters it', async () => {
    feedPage = await browser.page();
    await signIn(feedPage, base, keys.admin);
    await feedPage.locator('#feed .empty', { hasText: 'No alerts yet' }).waitFor();
    // Wait for the steady history to be counted, so the surge is what opens the alert.
    await waitFor(async () => ((await ctx.windows.totals('dash')).signals === STEADY + BACKGROUND ? true : undefined), 60_000, 'the steady stream to be counted');
    // Page scripts are strings here: the tests compile without the DOM library.
    await feedPage.evaluate('window.sameDocument = true');

    // Self-harm in US-TX from 60 accounts within the last minute, naming other accounts (which
    // redaction hides until a sample is revealed).
    const surge = Array.from({ length: 150 }, (_, k) => ({
      key: `sg${k}`,
      value: JSON.stringify({
        id: `sg${k}`,
        ts: stream.now - 60_000 + ((k * 397) % 59_000),
        text: `i want to die tonight, tell @friend${k % 60}`,
        hashtags: [EMERGING],
        surface: 'post',
        region: 'US-TX',
        author: `surge${k % 60}`,
      }),
    }));
    await produce(kafka, topic, surge);
    const item = alertItem(feedPage);
    await item.waitFor({ timeout: 60_000 });
    expect(await feedPage.evaluate('window.sameDocument')).toBe(true);
    expect(await item.getAttribute('data-severity')).toBe('critical');
    await expect.poll(() => item.textContent()).toContain('Needs attention');
    expect(await item.textContent()).toContain('Self-harm and suicide');
    expect(await feedPage.locator('#conn').textContent()).toMatch(/Live|Updating every second/);

    // One surge, one incident: the country it lifts is not an alert of its own, so the region
    // filter offers US-TX only, and shows that alert alone.
    const region = feedPage.locator('#f-region');
    expect(await region.locator('option').allTextContents()).toEqual(['All regions', 'US-TX']);
    await region.selectOption('US-TX');
    await expect.poll(() => feedPage.locator('#feed li.alert').count()).toBe(1);
    await item.waitFor();
    await region.selectOption('');
    await feedPage.locator('#f-status').selectOption('resolved');
    await feedPage.locator('#feed .empty', { hasText: 'No alert matches' }).waitFor();
    await feedPage.locator('#f-status').selectOption('active');
    await item.waitFor();
  });

  it('opens the detail by keyboard and draws the volume chart with the figures', async () => {
    const alert = (await surgeAlert())!;
    const page = feedPage;
    await alertItem(page).getByRole('button', { name: 'Details' }).focus();
    await page.keyboard.press('Enter');
    const detail = page.locator('#detail');
    await detail.locator('.uplot canvas').waitFor();
    // Something was drawn: the observed line and the band leave coloured pixels on the canvas.
    const inked = await page.evaluate(`(() => {
      const c = document.querySelector('#detail .uplot canvas');
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    })()`);
    expect(inked).toBeGreaterThan(500);
    expect(await detail.locator('h2').textContent()).toContain('Self-harm and suicide');
    expect(await detail.locator('.summary').textContent()).toBe(alert.summary);
    const figures = await detail.locator('.figures').textContent();
    expect(figures).toContain(`\u00D7`);
    expect(figures).toContain('Significance');
    expect(figures).toMatch(new RegExp(`Distinct authors${alert.distinct_authors}`));
    expect(figures).toContain(`Coordinated${alert.coordinated ? 'Yes' : 'No'}`);
    // The chart's figures are also there as a table, for screen readers.
    expect(await detail.locator('.chart-table tbody tr').count()).toBeGreaterThan(1);
    // Readable: every text on the feed and the detail meets WCAG AA contrast.
    expect(await lowContrastText(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-detail.png') });
    if (updateReadmeScreenshot) copyFileSync(join(ARTIFACTS, 'dashboard-detail.png'), README_SCREENSHOT);

    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'hidden' });
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Details');
  });

  it('shows processing rate, consumer lag, dead letters, model status and the last tick on the system panel', async () => {
    const page = feedPage;
    await page.getByRole('button', { name: 'System' }).click();
    const value = (metric: string) => page.locator(`[data-metric="${metric}"] .value`);
    await expect.poll(() => value('lag').textContent(), { timeout: 30_000 }).toBe('0 records');
    expect(await value('dead').textContent()).toBe(String(BAD_RECORDS));
    expect(await value('model').textContent()).toContain('OK');
    expect(await value('rate').textContent()).toMatch(/^\d+(\.\d)? signals\/s$/);
    expect(Number((await value('rate').textContent())!.split(' ')[0])).toBeGreaterThan(0);
    const shown = await value('tick').textContent();
    expect(shown).toBe(await page.evaluate(`new Date(${stream.now}).toLocaleString()`));
    expect(await lowContrastText(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-system.png') });
    await page.getByRole('button', { name: 'Alerts' }).click();
  });

  it('fits a phone screen: one column, nothing wider than the screen', async () => {
    const page = await browser.page(390, 844);
    await signIn(page, base, keys.viewer);
    await alertItem(page).waitFor();
    await alertItem(page).getByRole('button', { name: 'Details' }).click();
    await page.locator('#detail .uplot canvas').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    await page.close();
  });

  // Needs GET /v1/alerts/:id/detail and GET /v1/alerts/:id/samples/:sampleId (alert detail routes).
  it('keeps samples blurred and redacted: a viewer cannot reveal one, an analyst can, and the reveal is audited', async () => {
    const viewer = await browser.page();
    await signIn(viewer, base, keys.viewer);
    await alertItem(viewer).getByRole('button', { name: 'Details' }).click();
    const vSample = viewer.locator('#detail .sample').first();
    await vSample.waitFor();
    const redacted = await vSample.locator('.sample-text').textContent();
    expect(redacted).not.toMatch(/@friend/);
    await vSample.getByRole('button', { name: 'Reveal' }).click();
    await expect.poll(() => vSample.locator('.error').textContent()).toMatch(/role/);
    expect(await vSample.locator('.sample-text').getAttribute('class')).toContain('redacted');
    expect(await vSample.locator('.sample-text').textContent()).toBe(redacted);
    await viewer.close();

    const analyst = await browser.page();
    await signIn(analyst, base, keys.analyst);
    await alertItem(analyst).getByRole('button', { name: 'Details' }).click();
    const aSample = analyst.locator('#detail .sample').first();
    await aSample.waitFor();
    await aSample.getByRole('button', { name: 'Reveal' }).click();
    await aSample.getByRole('button', { name: 'Hide' }).waitFor();
    expect(await aSample.locator('.sample-text').getAttribute('class')).not.toContain('redacted');
    expect(await aSample.locator('.sample-text').textContent()).toMatch(/^i want to die tonight, tell @friend\d+$/);
    await analyst.close();
    const { entries } = await asAdmin<{ entries: { action: string; actor: { name: string } }[] }>('/v1/audit');
    expect(entries.filter((e) => /reveal/.test(e.action)).map((e) => e.actor.name)).toEqual(['ana']);
  });

  // Needs GET/PUT /v1/topics/:id and GET /v1/topics/:id/versions (topic list routes).
  it('shows a list edit that does not validate next to the editor, and saves nothing', async () => {
    const before = await asAdmin<{ version: unknown }>('/v1/topics/self-harm');
    const page = await browser.page();
    await signIn(page, base, keys.editor);
    await page.getByRole('button', { name: 'Topic lists' }).click();
    await page.locator('button.topic[data-topic="self-harm"]').click();
    const editor = page.locator('#definition');
    await editor.waitFor();
    const definition = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
    await editor.fill(JSON.stringify({ ...definition, severity: 'apocalyptic' }, null, 2));
    await page.getByRole('button', { name: 'Save as new version' }).click();
    const errors = page.locator('#definition-errors');
    await errors.waitFor();
    expect(await errors.textContent()).toMatch(/severity/);
    expect(await editor.getAttribute('aria-invalid')).toBe('true');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-topics.png') });
    expect((await asAdmin<{ version: unknown }>('/v1/topics/self-harm')).version).toEqual(before.version);
    await page.close();
  });

  // Needs PUT /v1/topics/:id, POST /v1/dry-run, GET /v1/topics/:id/versions and POST /v1/topics/:id/rollback (topic list routes).
  it('changes what the dry run matches once a valid edit is saved, and back after a rollback', async () => {
    const before = await asAdmin<{ version: number }>('/v1/topics/self-harm');
    const page = await browser.page();
    page.on('dialog', (d) => void d.accept()); // the rollback asks to confirm
    await signIn(page, base, keys.editor);
    await page.getByRole('button', { name: 'Topic lists' }).click();
    await page.locator('button.topic[data-topic="self-harm"]').click();
    const editor = page.locator('#definition');
    await editor.waitFor();
    const phrase = 'zorblax quiver';
    const dryRun = async () => {
      await page.getByLabel('Text, or signals as JSON lines').fill(`thinking about the ${phrase} tonight`);
      await page.getByRole('button', { name: 'Dry run' }).click();
      const hits = page.locator('.dry-out td.hits').first();
      await hits.waitFor();
      const text = await hits.textContent();
      await page.evaluate("document.querySelector('.dry-out').replaceChildren()");
      return text;
    };
    expect(await dryRun()).toBe('no topic');
    const definition = JSON.parse(await editor.inputValue()) as { terms: unknown[] };
    await editor.fill(JSON.stringify({ ...definition, terms: [...definition.terms, phrase] }, null, 2));
    // The draft against the live version: exactly the added term.
    await page.getByRole('button', { name: 'Compare with live' }).click();
    expect(await page.locator('.diff .changes').textContent()).toBe(`+ added terms[]: ${phrase}`);
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.locator('#toast', { hasText: 'Saved self-harm' }).waitFor();
    expect(await dryRun()).toContain('self-harm');

    await page.getByRole('button', { name: `Roll back to v${before.version}` }).click();
    await page.locator('#toast', { hasText: 'Rolled self-harm back' }).waitFor();
    expect(await dryRun()).toBe('no topic');
    expect(await editor.inputValue()).not.toContain(phrase);
    await page.close();
  });

  it('offers a hashtag riding with the surge as an emerging term, and adds it to the list', async () => {
    const page = await browser.page();
    await signIn(page, base, keys.editor);
    await page.getByRole('button', { name: 'Topic lists' }).click();
    const row = page.locator(`#emerging li[data-term="${EMERGING}"]`);
    await row.waitFor();
    await row.getByRole('combobox').selectOption('self-harm');
    await row.getByRole('button', { name: 'Add to list' }).click();
    await page.locator('#toast', { hasText: `Added ${EMERGING} to self-harm as a hashtag` }).waitFor();
    await row.waitFor({ state: 'detached' }); // listed now: no longer a candidate
    const { definition } = await asAdmin<{ definition: { hashtags: unknown[] } }>('/v1/topics/self-harm');
    expect(JSON.stringify(definition.hashtags)).toContain(EMERGING.slice(1));
    await page.close();
  });

  // Needs POST /v1/alerts/:id/ack and /resolve (alert action routes).
  it('acknowledges and resolves an alert from the feed', async () => {
    const page = feedPage;
    const item = alertItem(page);
    await item.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => item.getAttribute('data-status')).toBe('acknowledged');
    expect(await item.textContent()).not.toContain('Needs attention');
    expect((await surgeAlert())!.status).toBe('acknowledged');
    await item.getByRole('button', { name: 'Resolve' }).click();
    // Resolved alerts leave the default view (open or acknowledged).
    await item.waitFor({ state: 'detached' });
    expect((await surgeAlert())!.status).toBe('resolved');
    await page.locator('#f-status').selectOption('resolved');
    await expect.poll(() => item.getAttribute('data-status')).toBe('resolved');
  });
});
