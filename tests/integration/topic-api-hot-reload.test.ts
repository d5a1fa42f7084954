import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { MemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { buildApi } from '../../src/api/app.js';
import { ApiKeyring } from '../../src/api/auth.js';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.js';
import { topicLinter } from '../../src/cli/lint.js';
import { hashKey } from '../../src/config/api-keys.js';
import { loadTopics } from '../../src/config/load.js';
import { pipelineSchema } from '../../src/config/pipeline-schema.js';
import { DryRunner } from '../../src/worker/dry-runner.js';
import { EmergingTermsReader } from '../../src/worker/emerging-terms.js';
import { buildPipelineRuntime } from '../../src/worker/pipeline-runtime.js';
import { parse as parseYaml } from 'yaml';
import { RedisListChannel } from '../../src/lists/redis-list-channel.js';
import { TopicEditor } from '../../src/lists/topic-editor.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';
import { listsPipelineYaml, startSurgewatchKeepingOutput, stopGracefully } from '../_util/processes.js';

/**
 * A topic changed through the API (in this process) is swapped into a running worker process
 * through Redis without a restart, scores the stream from then on, and is kept by a worker that
 * starts later on the older files.
 */
describe('topic changes through the API reach running worker processes', () => {
  const id = uniqueId('tapi');
  const topic = `${id}-signals`;
  const kafka = testKafka();
  const redis = createTestRedis();
  const store = new RedisWindowStore(redis, id);
  const channel = new RedisListChannel(redis, id);
  const pipelinesDir = mkdtempSync(join(tmpdir(), 'surgewatch-tapi-pipelines-'));
  const topicsDir = mkdtempSync(join(tmpdir(), 'surgewatch-tapi-topics-'));
  const children: ChildProcess[] = [];
  const output: string[] = [];
  const NEW_TERM = 'moonlit exit plan';
  const EDITOR = `${id}-editor-key-0123456789`;
  let app: FastifyInstance;

  const env = workerEnv(id, { SURGEWATCH_PIPELINES_DIR: pipelinesDir, SURGEWATCH_TOPICS_DIR: topicsDir, SURGEWATCH_SEMANTIC_MODE: 'off', LOG_LEVEL: 'info' });

  const startWorker = (): ChildProcess => startSurgewatchKeepingOutput(env, children, output);

  const stop = (c: ChildProcess) => stopGracefully(c);

  /** The version the worker process `child` reports, once it satisfies `accept`. */
  const reported = (child: ChildProcess, accept: (version: string) => boolean, what: string) =>
    waitFor(async () => (await channel.activeWorkers()).find((w) => w.pid === child.pid && accept(w.version)), 90_000, what);

  let seq = 0;
  const signal = (text: string, hashtags: string[] = []) => ({ key: `k${seq}`, value: JSON.stringify({ id: `${id}-${seq++}`, ts: Date.now(), text, hashtags, surface: 'post', region: 'GB', author: `a${seq}` }) });
  const totals = () => store.totals('tapi');

  beforeAll(async () => {
    cpSync(resolve('config/topics'), topicsDir, { recursive: true });
    writeFileSync(join(pipelinesDir, 'tapi.yaml'), listsPipelineYaml('tapi', topic, id));
    await createTopic(kafka, topic, 1);
    const editor = new TopicEditor({ channel, clock: systemClock, logger: silentLogger, lint: topicLinter() });
    // The API process's view of the pipeline: what it counts is read from Redis, its lists from the channel.
    const rt = buildPipelineRuntime(pipelineSchema.parse(parseYaml(readFileSync(join(pipelinesDir, 'tapi.yaml'), 'utf8'))), loadTopics(topicsDir, []).topics);
    const dryRun = new DryRunner([rt], channel);
    app = buildApi({
      alerts: new MemoryAlertStore(),
      audit: new RedisAuditLog(redis, id, { retentionDays: 30 }),
      keys: new ApiKeyring([{ name: 'detection-team', role: 'editor', sha256: hashKey(EDITOR) }]),
      checks: {},
      mode: 'service',
      logger: pino({ level: 'silent' }),
      topics: { editor, dryRun, emerging: new EmergingTermsReader([rt], store, systemClock, (p) => dryRun.listsInForce(p)) },
    });
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all(children.map(stop));
    await deleteTopics(kafka, [topic, `${id}-dlq`, `${id}-alerts`]);
    await deleteKeys(redis, id);
    await channel.close();
    await redis.quit();
    rmSync(pipelinesDir, { recursive: true, force: true });
    rmSync(topicsDir, { recursive: true, force: true });
  });

  it('swaps an API change into the running worker, which scores with it, a later worker keeps it, and emerging terms read from Redis', { timeout: 300_000 }, async () => {
    onTestFailed(() => console.error(`worker output (last lines):\n${output.join('')}`));
    const worker = startWorker();
    const initial = await reported(worker, () => true, 'the worker to report its lists');

    await produce(kafka, topic, [signal(`my ${NEW_TERM} is ready`)]);
    await waitFor(async () => ((await totals()).signals === 1 ? true : undefined), 90_000, 'the first signal to be counted');
    expect((await totals()).hits ?? 0).toBe(0);

    const auth = { authorization: `Bearer ${EDITOR}` };
    const current = (await app.inject({ url: '/v1/topics/self-harm', headers: auth })).json() as { version: number; definition: { terms: unknown[] } };
    const res = await app.inject({
      method: 'PUT',
      url: '/v1/topics/self-harm',
      headers: auth,
      payload: { base_version: current.version, definition: { ...current.definition, terms: [...current.definition.terms, NEW_TERM] } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: current.version + 1, updated_by: 'detection-team' });
    const listVersion = (await channel.currentRef())!.version;

    // This process does not run the pipeline (its runtime holds the files' lists): a dry run here
    // scores against the lists in force, read from Redis.
    const dry = await app.inject({ method: 'POST', url: '/v1/dry-run', headers: auth, payload: { text: `my ${NEW_TERM} is ready` } });
    expect(dry.json()).toMatchObject({ list_version: listVersion, results: [{ hits: [{ topic: 'self-harm', stage: 'keyword', matched: [NEW_TERM] }] }] });

    // The same process, still running, reports the new version and scores with it.
    await reported(worker, (v) => v === listVersion && v !== initial.version, 'the worker to run the changed lists');
    expect(worker.exitCode).toBeNull();
    await produce(kafka, topic, [signal(`my ${NEW_TERM} is ready`)]);
    await waitFor(async () => ((await totals()).signals === 2 ? true : undefined), 90_000, 'the second signal to be counted');
    expect((await totals()).hits).toBe(1);

    // A worker started now on the unchanged (older) files runs the API's change, not the files.
    await stop(worker);
    const later = startWorker();
    const ref = await reported(later, () => true, 'the later worker to report its lists');
    expect(ref.version).toBe(listVersion);
    await produce(kafka, topic, [signal(`my ${NEW_TERM} again`)]);
    await waitFor(async () => ((await totals()).signals === 3 ? true : undefined), 90_000, 'the third signal to be counted');
    expect((await totals()).hits).toBe(2);

    // An unlisted hashtag riding with the new term's hits, from four accounts: an emerging term,
    // read by this (API) process from what the worker counted in Redis, until it is accepted.
    await produce(kafka, topic, [0, 1, 2, 3].map(() => signal(`my ${NEW_TERM} tonight`, ['MoonlitExit'])));
    await waitFor(async () => ((await totals()).signals === 7 ? true : undefined), 90_000, 'the hashtag signals to be counted');
    const emerging = async () => (await app.inject({ url: '/v1/emerging?minutes=30', headers: auth })).json() as { terms: { topic: string; term: string; count: number; listed: boolean }[] };
    expect((await emerging()).terms).toEqual([expect.objectContaining({ topic: 'self-harm', term: '#moonlitexit', listed: false })]);
    const accept = await app.inject({ method: 'POST', url: '/v1/topics/self-harm/terms', headers: auth, payload: { term: '#moonlitexit', kind: 'hashtag' } });
    expect(accept.json()).toMatchObject({ added: true });
    expect((await emerging()).terms).toEqual([expect.objectContaining({ term: '#moonlitexit', listed: true })]);
  });
});
