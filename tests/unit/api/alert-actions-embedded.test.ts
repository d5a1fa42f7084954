import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { AppContext } from '../../../src/context.js';
import { makeAlert } from '../../_util/alerts.js';
import { sample } from '../../_util/metrics.js';
import { waitFor } from '../../_util/services.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-actions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('alert actions in a running embedded process', () => {
  it('publishes the action as an alert event, applies the pipeline cooldown to a manual resolve, and shows the figures on /metrics', async () => {
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => void (logs.push(c.toString()), done()) }));
    const KEY = 'an-analyst-key-0123456789abcdef';
    const config = loadConfig({
      cwd: resolve('.'),
      env: { SURGEWATCH_SAMPLE_STREAM: 'off', SURGEWATCH_SEMANTIC_MODE: 'off', SURGEWATCH_ADMIN_KEY_FILE: join(dir, 'admin-key'), SURGEWATCH_API_KEYS: `ana:analyst:${KEY}`, HTTP_HOST: '127.0.0.1' },
    });
    const ctx = AppContext.fromConfig(config, { httpPort: 0, logger, watchTopics: false });
    try {
      await ctx.start();
      const pipeline = ctx.runtimes[0]!.config;
      const now = Date.now();
      const alert = makeAlert({ pipeline: pipeline.id, series: 'embedded-topic|region=GB', openedMs: now - 60_000 });
      await ctx.alerts.save(alert, 'opened', 0);
      const base = ctx.apiUrl()!;
      const post = (action: string, body: object) =>
        fetch(`${base}/v1/alerts/${alert.id}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await post('ack', {})).status).toBe(200);
      expect((await post('resolve', { note: 'handled' })).status).toBe(200);

      // The relay drains the outbox: the events went to the publisher (the log, in embedded mode).
      await waitFor(async () => ((await ctx.alerts.pendingEvents(pipeline.id, 10)).length === 0 ? true : undefined), 10_000, 'the outbox to drain');
      const published = logs.map((l) => JSON.parse(l) as { alert?: string; event?: string }).filter((l) => l.alert === alert.id).map((l) => l.event);
      expect(published).toEqual(['opened', 'updated', 'resolved']);
      const resolvedAt = Date.parse((await ctx.alerts.get(alert.id))!.resolved_at!);
      expect(await ctx.alerts.inCooldown(pipeline.id, alert.series, resolvedAt + pipeline.detect.cooldownSec * 1000 - 1)).toBe(true);
      expect(await ctx.alerts.inCooldown(pipeline.id, alert.series, resolvedAt + pipeline.detect.cooldownSec * 1000)).toBe(false);

      const text = await (await fetch(`${base}/metrics`)).text();
      const labels = { pipeline: pipeline.id, topic: 'embedded-topic', severity: 'critical' };
      expect(sample(text, 'surgewatch_alert_time_to_acknowledge_seconds_count', labels)).toBe(1);
      expect(sample(text, 'surgewatch_alert_time_to_resolve_seconds_count', { ...labels, resolved_by: 'person' })).toBe(1);
      expect(sample(text, 'surgewatch_alert_acknowledge_seconds_recent', { ...labels, quantile: '0.5' })).toBeGreaterThanOrEqual(60);
      expect(sample(text, 'surgewatch_alerts_escalated', labels)).toBe(0);
    } finally {
      await ctx.close();
    }
  });
});
