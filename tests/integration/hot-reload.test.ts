import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadTopics } from '../../src/config/load.js';
import { createListSetDraft, type ListSetRef, type WorkerListState } from '../../src/lists/list-set.js';
import { RedisListChannel } from '../../src/lists/redis-list-channel.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';
import { listsPipelineYaml, startSurgewatchKeepingOutput, stopGracefully } from '../_util/processes.js';

/**
 * A topic file edited under two running worker processes is swapped into both without a
 * restart; a broken edit leaves both on the last good version and says what is wrong.
 */
describe('hot reload of topic lists across worker processes', () => {
  const id = uniqueId('hot');
  const topic = `${id}-signals`;
  const prefix = id;
  const kafka = testKafka();
  const redis = createTestRedis();
  const store = new RedisWindowStore(redis, prefix);
  const channel = new RedisListChannel(redis, prefix);
  const pipelinesDir = mkdtempSync(join(tmpdir(), 'surgewatch-hot-pipelines-'));
  const topicsDir = mkdtempSync(join(tmpdir(), 'surgewatch-hot-topics-'));
  const selfHarmFile = join(topicsDir, 'self-harm.yaml');
  const children: ChildProcess[] = [];
  const output: string[] = [];
  // A term no list has: a signal made of it is only a hit once the edited list is in force.
  const NEW_TERM = 'moonlit exit plan';

  const env = workerEnv(id, { SURGEWATCH_PIPELINES_DIR: pipelinesDir, SURGEWATCH_TOPICS_DIR: topicsDir, LOG_LEVEL: 'info' });

  const startWorker = (): ChildProcess => startSurgewatchKeepingOutput(env, children, output);

  let seq = 0;
  const signalOn = (partition: number, text: string) => ({
    partition,
    key: `k${seq}`,
    value: JSON.stringify({ id: `${id}-${seq++}`, ts: Date.now(), text, surface: 'post', region: 'GB', author: `a${seq}` }),
  });

  /** The version both workers report, once they report the same one and it satisfies `accept`. */
  const bothWorkersOn = (accept: (ref: ListSetRef) => boolean, what: string) =>
    waitFor(
      async () => {
        const workers = await channel.activeWorkers();
        const mine = workers.filter((w) => children.some((c) => c.pid === w.pid));
        if (mine.length !== 2 || mine[0]!.version !== mine[1]!.version || mine[0]!.revision !== mine[1]!.revision) return undefined;
        return accept(mine[0]!) ? mine : undefined;
      },
      90_000,
      what,
    );
  const refOf = (w: WorkerListState): ListSetRef => ({ version: w.version, revision: w.revision });
  const filesVersion = () => createListSetDraft(loadTopics(topicsDir, []).topics, '').version;
  const totals = () => store.totals('hot');

  beforeAll(async () => {
    cpSync(resolve('config/topics'), topicsDir, { recursive: true });
    writeFileSync(join(pipelinesDir, 'hot.yaml'), listsPipelineYaml('hot', topic, id));
    await createTopic(kafka, topic, 2);
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => stopGracefully(c)));
    await deleteTopics(kafka, [topic, `${id}-dlq`, `${id}-alerts`]);
    await deleteKeys(redis, prefix);
    await channel.close();
    await redis.quit();
    rmSync(pipelinesDir, { recursive: true, force: true });
    rmSync(topicsDir, { recursive: true, force: true });
  });

  it('swaps an edited list into both running workers, and keeps it when a later edit is invalid', { timeout: 300_000 }, async () => {
    onTestFailed(() => console.error(`worker output (last lines):\n${output.join('')}`));
    const [first, second] = [startWorker(), startWorker()];
    const pids = [first.pid, second.pid].sort();

    // Both start on the files' lists.
    const initial = refOf((await bothWorkersOn(() => true, 'both workers to report their lists'))[0]!);
    expect(initial.version).toBe(filesVersion());
    expect(await channel.currentRef()).toEqual(initial);

    // Before the edit, the new term is not a hit (on either partition, so on either worker).
    await produce(kafka, topic, [signalOn(0, `my ${NEW_TERM} is ready`), signalOn(1, `my ${NEW_TERM} is ready`)]);
    await waitFor(async () => ((await totals()).signals === 2 ? true : undefined), 90_000, 'the first two signals to be counted');
    expect((await totals()).hits ?? 0).toBe(0);

    // Edit one topic file in place, as a detection analyst would.
    const edited = parseYaml(readFileSync(selfHarmFile, 'utf8')) as { terms: unknown[]; severity: string };
    edited.terms.push(NEW_TERM);
    writeFileSync(selfHarmFile, stringifyYaml(edited));

    const swapped = await bothWorkersOn((ref) => ref.version !== initial.version, 'both workers to run the edited lists');
    const next = refOf(swapped[0]!);
    expect(next.version).toBe(filesVersion());
    expect(next.revision).toBeGreaterThan(initial.revision);
    expect(await channel.currentRef()).toEqual(next);
    // Without a restart: the same two processes, both still running.
    expect(swapped.map((w) => w.pid).sort()).toEqual(pids);
    expect(children.map((c) => c.exitCode)).toEqual([null, null]);

    // The swapped lists are the ones scoring: the new term is now a hit on both partitions.
    await produce(kafka, topic, [signalOn(0, `my ${NEW_TERM} is ready`), signalOn(1, `my ${NEW_TERM} is ready`)]);
    await waitFor(async () => ((await totals()).signals === 4 ? true : undefined), 90_000, 'the next two signals to be counted');
    expect((await totals()).hits).toBe(2);

    // A broken edit: the last good version stays everywhere and the error says what and where.
    writeFileSync(selfHarmFile, stringifyYaml({ ...edited, severity: 'extreme' }));
    const error = await waitFor(async () => channel.lastError(), 90_000, 'the rejected reload to be reported');
    expect(error.problems).toContainEqual({ source: selfHarmFile, path: 'severity', message: expect.stringMatching(/critical/) as string });
    expect(error.active).toEqual(next);

    const still = await bothWorkersOn(() => true, 'both workers to report their lists');
    expect(still.map(refOf)).toEqual([next, next]);
    expect(still.map((w) => w.pid).sort()).toEqual(pids);
    expect(await channel.currentRef()).toEqual(next);
    await produce(kafka, topic, [signalOn(0, `my ${NEW_TERM} is ready`), signalOn(1, 'an ordinary afternoon')]);
    await waitFor(async () => ((await totals()).signals === 6 ? true : undefined), 90_000, 'the last two signals to be counted');
    expect((await totals()).hits).toBe(3);
  });
});
