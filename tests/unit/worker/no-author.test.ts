/**
 * A stream whose signals carry no author id (the field is optional): the number of accounts
 * is unknown, so the min-authors guard must not block its surges, and alerts say so.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/alerts/alert.js';
import { replayCommand } from '../../../src/cli/commands.js';
import { loadConfig } from '../../../src/config/load.js';
import { authoredShare, passesAuthorGuard } from '../../../src/detect/detector.js';
import { generateStream } from '../../../src/synthetic/stream.js';
import { buildPipelineRuntime } from '../../../src/worker/pipeline-runtime.js';
import { processRecords, registerAuthorMetrics } from '../../../src/worker/process-records.js';
import { createMetricsRegistry } from '../../../src/shared/metrics.js';
import { spec, writeJsonl } from '../../_util/synthetic-spec.js';

/** The first hour of the shared synthetic stream with its 20x surge, authors removed. */
function anonymousStream() {
  const { signals, truth } = generateStream({ ...spec, minutes: 60, surges: [spec.surges![0]!] });
  return { signals: signals.map(({ author: _author, ...rest }) => rest), truth };
}

async function replayAnonymous(dir: string, env: Record<string, string>) {
  const { signals, truth } = anonymousStream();
  expect(signals.some((s) => 'author' in s)).toBe(false);
  const file = join(dir, 'signals.jsonl');
  await writeJsonl(file, signals);
  writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth));
  const config = loadConfig({ cwd: resolve('.'), env });
  const io = { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() };
  const result = await replayCommand(config, file, { semantic: 'off', out: join(dir, 'alerts.jsonl'), truth: join(dir, 'truth.json') }, io);
  const alerts = readFileSync(join(dir, 'alerts.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Alert);
  return { result, alerts };
}

describe('signals without author ids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-no-author-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('raise their surge, with distinct_authors null and a summary that says the accounts are unknown (memory store)', async () => {
    const { result, alerts } = await replayAnonymous(dir, {});
    expect(result.truth!.surges[0]).toMatchObject({ detected: true });
    expect(alerts.length).toBeGreaterThan(0);
    for (const a of alerts) {
      expect(a.distinct_authors).toBeNull();
      expect(a.coordinated).toBe(false);
      expect(a.summary).toContain('accounts unknown');
    }
  });

  it('are counted in the totals and on /metrics as a share of the signals', async () => {
    const config = loadConfig({ env: {} });
    const rt = buildPipelineRuntime(config.pipelines[0]!, config.topics);
    const records = ['a', 'b', 'c', 'd'].map((id, i) => ({
      offset: String(i),
      value: Buffer.from(JSON.stringify({ id, ts: Date.UTC(2026, 0, 1), text: 'hello', surface: 'post', ...(i === 0 && { author: 'u1' }) })),
    }));
    const out = await processRecords(records, rt, { watermark: { maxEventMs: 0 }, authorHashKey: 'k' });
    expect(out.totals).toMatchObject({ signals: 4, no_author: 3 });
    expect(authoredShare(out.totals)).toBe(0.25);
    const registry = createMetricsRegistry();
    registerAuthorMetrics(registry, [rt]);
    expect(await registry.metrics()).toContain(`surgewatch_signals_without_author_ratio{pipeline="${rt.config.id}"} 0.75`);
  });

  it('lower the min-authors bar to the share of signals that carry one, and lift it when none does', () => {
    expect(passesAuthorGuard(null, 3)).toBe(true);
    expect(passesAuthorGuard(2, 3)).toBe(false);
    expect(passesAuthorGuard(1, 3, 0.25)).toBe(true);
    expect(passesAuthorGuard(0, 3, 0.5)).toBe(false);
  });
});
