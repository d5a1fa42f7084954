import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureAdminKey } from '../../../src/config/admin-key.js';
import { hashedEntry, hashKey, parseApiKeys } from '../../../src/config/api-keys.js';
import { loadConfig } from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY_A = 'alice-key-0123456789abcdefghij';
const KEY_B = 'bob-key-0123456789abcdefghijkl';

describe('SURGEWATCH_API_KEYS', () => {
  it('reads name:role:key entries from the value, separated by commas or new lines, and keeps only hashes', () => {
    const { keys, problems } = parseApiKeys(`alice:analyst:${KEY_A}, bob:admin:${KEY_B}`, dir);
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.name, k.role])).toEqual([['alice', 'analyst'], ['bob', 'admin']]);
    expect(keys[0]!.sha256.equals(hashKey(KEY_A))).toBe(true);
    expect(JSON.stringify(keys)).not.toContain(KEY_A);
  });

  it('reads a file of entries, with comments, and accepts hashed entries', () => {
    const file = join(dir, 'keys.txt');
    writeFileSync(file, `# on-call team\nalice:viewer:${KEY_A}\n\n${hashedEntry('bob', 'editor', KEY_B)}  # stored hashed\n`);
    const { keys, problems } = parseApiKeys('keys.txt', dir);
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.name, k.role])).toEqual([['alice', 'viewer'], ['bob', 'editor']]);
    expect(keys[1]!.sha256.equals(hashKey(KEY_B))).toBe(true);
  });

  it.each([
    ['a short key', `alice:viewer:short-key`, /at least 24/],
    ['an unknown role', `alice:root:${KEY_A}`, /unknown role/],
    ['no role', KEY_A + ':x', /name:role:key/],
    ['a bad hash', 'alice:viewer:sha256:abc', /64 lowercase hex/],
    ['a duplicate name', `alice:viewer:${KEY_A},alice:admin:${KEY_B}`, /duplicate key name/],
    ['a missing file', 'no-such-file', /neither .* nor an existing file/],
  ])('reports %s without quoting any key', (_, value, message) => {
    const { problems } = parseApiKeys(value, dir);
    expect(problems.map((p) => p.message).join('\n')).toMatch(message);
    for (const p of problems) {
      expect(p.message).not.toContain(KEY_A);
      expect(p.message).not.toContain(KEY_B);
    }
  });
});

describe('loadConfig: keys and the listening address', () => {
  const cwd = resolve('.');
  const embedded = { SURGEWATCH_SAMPLE_STREAM: 'off' };

  it('without keys listens on 127.0.0.1 only and says why; with keys on every interface; HTTP_HOST wins', () => {
    const open = loadConfig({ cwd, env: embedded });
    expect(open.http.host).toBe('127.0.0.1');
    expect(open.http.hostReason).toMatch(/no SURGEWATCH_API_KEYS/);
    const keyed = loadConfig({ cwd, env: { ...embedded, SURGEWATCH_API_KEYS: `alice:viewer:${KEY_A}` } });
    expect(keyed.http).toEqual({ host: '0.0.0.0', hostReason: undefined });
    expect(loadConfig({ cwd, env: { ...embedded, HTTP_HOST: '0.0.0.0' } }).http).toEqual({ host: '0.0.0.0', hostReason: undefined });
  });

  it('keeps the raw keys out of the loaded configuration', () => {
    const config = loadConfig({ cwd, env: { ...embedded, SURGEWATCH_API_KEYS: `alice:viewer:${KEY_A}` } });
    expect(config.apiKeys).toHaveLength(1);
    expect(JSON.stringify(config)).not.toContain(KEY_A);
  });

  it('needs no keys for a worker-only process in service mode', () => {
    const config = loadConfig({
      cwd,
      env: { KAFKA_BROKERS: 'localhost:9092', REDIS_URL: 'redis://localhost:6379', AUTHOR_HASH_KEY: 'a-secret-of-16-chars-or-more', SURGEWATCH_ROLE: 'worker' },
    });
    expect(config.apiKeys).toEqual([]);
  });
});

describe('the embedded admin key', () => {
  it('is created once, owner-only, and reused by the next start', () => {
    const file = join(dir, 'state', 'admin-key');
    const first = ensureAdminKey(file);
    expect(first.created).toBe(true);
    expect(first.key).toMatch(/^sw_[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.key);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = ensureAdminKey(file);
    expect(second.created).toBe(false);
    expect(second.entry.sha256.equals(first.entry.sha256)).toBe(true);
  });
});
