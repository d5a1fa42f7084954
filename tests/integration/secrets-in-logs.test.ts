import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KAFKA_BROKERS, uniqueId, waitFor } from '../_util/services.js';
import { freePort } from '../_util/own-kafka.js';

const REDIS_PASSWORD = 'Pw-S3cr3t-redis-9f2c';
const HASH_KEY = 'hash-S3cr3t-key-77aa01';
const API_KEY = 'api-S3cr3t-key-0123456789abcdef';
const SECRETS = [REDIS_PASSWORD, HASH_KEY, API_KEY, 'S3cr3t'];

/** Secrets given to the service never show in its logs, error messages or API answers. */
describe('secrets stay out of logs', () => {
  const id = uniqueId('sec');
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-secrets-'));
  writeFileSync(join(dir, 'sec.yaml'), ['id: sec', `source: { topic: ${id}-signals }`, 'topics: [self-harm]'].join('\n'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the service until `until` resolves (or until it exits), returning everything it wrote. */
  async function run(env: Record<string, string>, until?: (output: () => string, httpPort: number) => Promise<unknown>): Promise<{ output: string }> {
    const httpPort = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/surgewatch.ts'], {
      cwd: resolve('.'),
      env: {
        ...process.env,
        KAFKA_BROKERS: KAFKA_BROKERS.join(','),
        SURGEWATCH_PIPELINES_DIR: dir,
        REDIS_KEY_PREFIX: id,
        KAFKA_GROUP_ID: `${id}-group`,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(httpPort),
        LOG_LEVEL: 'trace',
        SURGEWATCH_API_KEYS: `ops:admin:${API_KEY}`,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      // Started services are stopped once `until` resolves; the others must exit on their own.
      await (until ? until(() => output, httpPort) : Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]));
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
    return { output };
  }

  it('with a password in REDIS_URL for a Redis that is down', async () => {
    // The service gives up at start; its last words must not carry the password either.
    const { output } = await run({ REDIS_URL: `redis://admin:${REDIS_PASSWORD}@127.0.0.1:${await freePort()}/0`, AUTHOR_HASH_KEY: HASH_KEY });
    expect(output).toMatch(/ECONNREFUSED|Connection is closed/);
    for (const s of SECRETS) expect(output).not.toContain(s);
  }, 120_000);

  it('with credentials the Redis server refuses', async () => {
    const { output } = await run({ REDIS_URL: `redis://nobody:${REDIS_PASSWORD}@127.0.0.1:6379/0`, AUTHOR_HASH_KEY: HASH_KEY }, (output) =>
      waitFor(async () => (/WRONGPASS|NOAUTH|AUTH/.test(output()) ? true : undefined), 60_000, 'the refused authentication to be logged'),
    );
    expect(output).toMatch(/WRONGPASS|AUTH|auth/);
    for (const s of SECRETS) expect(output).not.toContain(s);
  }, 120_000);

  it('in API answers and logs while its Redis (password-protected) goes down', async () => {
    // A Redis of the test's own, so that it can be stopped.
    const redisPort = await freePort();
    const server = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', REDIS_PASSWORD], { stdio: 'ignore' });
    const serverExited = new Promise((r) => server.once('exit', r));
    const answers: string[] = [];
    try {
      const { output } = await run({ REDIS_URL: `redis://default:${REDIS_PASSWORD}@127.0.0.1:${redisPort}/0`, AUTHOR_HASH_KEY: HASH_KEY }, async (_output, httpPort) => {
        const get = async (path: string) => {
          const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { headers: { authorization: `Bearer ${API_KEY}` } });
          const body = await res.text();
          answers.push(`${res.status} ${body}`);
          return res.status;
        };
        await waitFor(async () => ((await get('/readyz')) === 200 ? true : undefined), 60_000, 'the service to be ready');
        server.kill('SIGTERM');
        await serverExited;
        await waitFor(async () => ((await get('/readyz')) === 503 ? true : undefined), 60_000, '/readyz to report Redis down');
        await get('/v1/alerts');
        await get('/v1/alerts/al_0123');
      });
      expect(answers.some((a) => a.startsWith('503'))).toBe(true);
      for (const s of SECRETS) {
        expect(output).not.toContain(s);
        for (const a of answers) expect(a).not.toContain(s);
      }
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  }, 180_000);

  it('with a malformed REDIS_URL and a too-short hash key', async () => {
    const { output } = await run({ REDIS_URL: `redis://admin:${REDIS_PASSWORD} x@127.0.0.1:6379`, AUTHOR_HASH_KEY: 'S3cr3t-short' });
    expect(output).toMatch(/REDIS_URL/);
    expect(output).toMatch(/AUTHOR_HASH_KEY/);
    for (const s of SECRETS) expect(output).not.toContain(s);
  }, 60_000);
});
