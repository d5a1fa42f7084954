import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/commands.js';
import { loadConfig } from '../../src/config/load.js';
import { generateStream } from '../../src/synthetic/stream.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { spec, writeJsonl } from '../_util/synthetic-spec.js';
import { createTestRedis, deleteKeys, uniqueId, workerEnv } from '../_util/services.js';

/** A replay of an hour on Redis ticks 720 times, each reading every live series' windows. */
const REPLAY_TIMEOUT_MS = 240_000;

describe('replay on the real services', () => {
  const id = uniqueId('replay');
  const redis = createTestRedis();
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-replay-'));
  afterAll(async () => {
    await deleteKeys(redis, `${id}.replay.*`);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps windows and alerts in Redis under a replay prefix, and finds the surge', async () => {
    const { signals, truth } = generateStream({ ...spec, minutes: 60, surges: [spec.surges![0]!] });
    const file = join(dir, 'signals.jsonl');
    await writeJsonl(file, signals);
    writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth));

    const config = loadConfig({ cwd: resolve('.'), env: workerEnv(id, {}) });
    expect(config.mode).toBe('service');
    const io = { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() };
    const r = await replayCommand(config, file, { semantic: 'off', out: join(dir, 'alerts.jsonl'), truth: join(dir, 'truth.json') }, io);
    expect(r.signals).toBe(signals.length);
    expect(r.truth!.surges[0]).toMatchObject({ detected: true });
    expect(r.truth!.false_alerts).toBe(0);

    expect(r.redisPrefix).toMatch(new RegExp(`^${id}\\.replay\\.[0-9a-z]+$`));
    const store = new RedisWindowStore(redis, r.redisPrefix!);
    expect((await store.totals('high-harm')).signals).toBe(signals.length);
    // Nothing was written under the live prefix.
    expect(await redis.keys(`${id}:*`)).toEqual([]);
  }, REPLAY_TIMEOUT_MS);

  it('counts the same file again, from a clean slate, when it is replayed a second time', async () => {
    // A quieter stream than above (a tenth of the rate, the surge as strong in count): quick to replay twice.
    const { signals } = generateStream({ ...spec, minutes: 60, perSec: 4, surges: [{ ...spec.surges![0]!, factor: 100 }] });
    const file = join(dir, 'again.jsonl');
    await writeJsonl(file, signals);
    const config = loadConfig({ cwd: resolve('.'), env: workerEnv(id, {}) });
    const io = { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() };
    const runs = [];
    for (const out of ['first.jsonl', 'second.jsonl']) {
      const r = await replayCommand(config, file, { semantic: 'off', out: join(dir, out) }, io);
      const alerts = readFileSync(join(dir, out), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; event: string });
      runs.push({ r, alerts, totals: await new RedisWindowStore(redis, r.redisPrefix!).totals('high-harm') });
    }
    const [first, second] = runs;
    expect(second!.r.redisPrefix).not.toBe(first!.r.redisPrefix);
    expect(second!.r.signals).toBe(signals.length);
    expect(second!.totals.signals).toBe(signals.length);
    expect(first!.totals.signals).toBe(signals.length);
    // The same alerts, with the same ids: alert ids do not depend on the run.
    expect(first!.alerts.length).toBeGreaterThan(0);
    expect(second!.alerts).toEqual(first!.alerts);
  }, REPLAY_TIMEOUT_MS);

  it('raises the surge of a stream without author ids, its alerts saying distinct_authors null', async () => {
    // The quieter stream of the test above: the guard on distinct authors is what is under test.
    const { signals, truth } = generateStream({ ...spec, minutes: 60, perSec: 4, surges: [{ ...spec.surges![0]!, factor: 100 }] });
    const file = join(dir, 'anonymous.jsonl');
    await writeJsonl(
      file,
      signals.map(({ author: _author, ...rest }) => rest),
    );
    writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth));
    const anon = `${id}-anon`;
    const config = loadConfig({ cwd: resolve('.'), env: workerEnv(anon, {}) });
    const io = { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() };
    let prefix: string | undefined;
    try {
      const r = await replayCommand(config, file, { semantic: 'off', out: join(dir, 'anonymous-alerts.jsonl'), truth: join(dir, 'truth.json') }, io);
      prefix = r.redisPrefix;
      expect(r.truth!.surges[0]).toMatchObject({ detected: true });
      const alerts = readFileSync(join(dir, 'anonymous-alerts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { distinct_authors: unknown });
      expect(alerts.length).toBeGreaterThan(0);
      expect(alerts.every((a) => a.distinct_authors === null)).toBe(true);
    } finally {
      if (prefix) await deleteKeys(redis, prefix);
    }
  }, REPLAY_TIMEOUT_MS);
});
