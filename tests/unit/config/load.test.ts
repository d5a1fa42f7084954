import { describe, it, expect, afterEach } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError, type ConfigProblem } from '../../../src/shared/errors.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const selfHarm = `id: self-harm
name: Self-harm
severity: critical
terms:
  - kill myself
  - { term: goodbye forever, weight: 0.5 }
hashtags: [wanttodie]
`;

const scams = `id: scams
name: Scams
severity: medium
terms:
  - guaranteed returns
`;

const pipeline = `id: main
topics: [self-harm, scams]
windows:
  bucketSec: 10
  currentSec: 60
  baselineSec: 600
  retentionSec: 3600
`;

const serviceEnv = {
  KAFKA_BROKERS: 'localhost:9092, kafka-2:9093',
  REDIS_URL: 'redis://127.0.0.1:6379',
  AUTHOR_HASH_KEY: 'a-secret-of-16-chars-or-more',
  SURGEWATCH_API_KEYS: 'ops:admin:an-api-key-of-24-characters-or-more',
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary checkout holding the given files (paths relative to it). */
function setup(files: Record<string, string>): string {
  const cwd = mkdtempSync(join(tmpdir(), 'surgewatch-config-'));
  dirs.push(cwd);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(cwd, path)), { recursive: true });
    writeFileSync(join(cwd, path), text);
  }
  return cwd;
}

const validFiles = {
  'pipelines/main.yaml': pipeline,
  'config/topics/self-harm.yaml': selfHarm,
  'config/topics/scams.yaml': scams,
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

/** Problems as "file-name-or-env | path", with messages checked separately. */
const where = (problems: readonly ConfigProblem[]) => problems.map((p) => `${p.source === 'env' ? 'env' : p.source.split('/').pop()} | ${p.path}`).sort();

describe('loadConfig: valid setups', () => {
  it('loads in embedded mode when neither KAFKA_BROKERS nor REDIS_URL is set', () => {
    const config = loadConfig({ env: {}, cwd: setup(validFiles) });
    expect(config.mode).toBe('embedded');
    expect(config.pipelines.map((p) => p.id)).toEqual(['main']);
    expect(config.pipelines[0]!.topics).toEqual(['self-harm', 'scams']);
    expect(config.pipelines[0]!.windows.baselineSec).toBe(600);
    // Unset sections take their defaults.
    expect(config.pipelines[0]!.detect.minCount).toBe(10);
    expect(config.topics.map((t) => t.id).sort()).toEqual(['scams', 'self-harm']);
    expect(config.topics.find((t) => t.id === 'self-harm')!.severity).toBe('critical');
    expect(config.authorHashKey.length).toBeGreaterThan(0);
    expect(config.env.HTTP_PORT).toBe(8080);
  });

  it('treats empty environment variables as unset', () => {
    const config = loadConfig({ env: { KAFKA_BROKERS: '', REDIS_URL: '', HTTP_PORT: '' }, cwd: setup(validFiles) });
    expect(config.mode).toBe('embedded');
    expect(config.env.HTTP_PORT).toBe(8080);
  });

  it('loads in service mode when KAFKA_BROKERS, REDIS_URL and AUTHOR_HASH_KEY are set', () => {
    const config = loadConfig({ env: { ...serviceEnv, HTTP_PORT: '9090' }, cwd: setup(validFiles) });
    expect(config.mode).toBe('service');
    expect(config.env.KAFKA_BROKERS).toEqual(['localhost:9092', 'kafka-2:9093']);
    expect(config.env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.env.HTTP_PORT).toBe(9090);
    expect(config.authorHashKey).toBe(serviceEnv.AUTHOR_HASH_KEY);
  });

  it('does not use the embedded development key in service mode', () => {
    const embedded = loadConfig({ env: {}, cwd: setup(validFiles) });
    const service = loadConfig({ env: serviceEnv, cwd: setup(validFiles) });
    expect(service.authorHashKey).not.toBe(embedded.authorHashKey);
  });

  it('reads JSON as well as YAML, and ignores files that are not data', () => {
    const config = loadConfig({
      env: {},
      cwd: setup({
        'pipelines/main.json': JSON.stringify({ id: 'main', topics: ['self-harm'] }),
        'pipelines/README.md': '# not a pipeline: {{{',
        'config/topics/self-harm.yml': selfHarm,
        'config/topics/notes.txt': 'severity: nonsense',
      }),
    });
    expect(config.pipelines.map((p) => p.id)).toEqual(['main']);
    expect(config.topics.map((t) => t.id)).toEqual(['self-harm']);
  });

  it('reads folders named by SURGEWATCH_PIPELINES_DIR and SURGEWATCH_TOPICS_DIR, relative to cwd', () => {
    const cwd = setup({ 'etc/p/main.yaml': 'id: main\n', 'etc/t/scams.yaml': scams });
    const config = loadConfig({ env: { SURGEWATCH_PIPELINES_DIR: 'etc/p', SURGEWATCH_TOPICS_DIR: join(cwd, 'etc/t') }, cwd });
    expect(config.pipelines.map((p) => p.id)).toEqual(['main']);
    expect(config.topics.map((t) => t.id)).toEqual(['scams']);
  });

  it("loads the repository's own shipped config without problems", () => {
    const config = loadConfig({ env: {}, cwd: repoRoot });
    expect(config.mode).toBe('embedded');
    expect(config.pipelines.length).toBeGreaterThanOrEqual(1);
    const topicFiles = readdirSync(join(repoRoot, 'config/topics')).filter((n) => /\.(ya?ml|json)$/.test(n));
    expect(config.topics.map((t) => t.id).sort()).toEqual(topicFiles.map((n) => n.replace(/\.(ya?ml|json)$/, '')).sort());
    for (const t of config.topics) expect(t.terms.length + t.hashtags.length).toBeGreaterThan(0);
  });
});

describe('loadConfig: invalid setups', () => {
  it('reports every problem, with its file and path, in one error', () => {
    const cwd = setup({
      'pipelines/main.yaml': `id: main
topics: [self-harm, no-such-topic]
windows:
  bucketSec: 10
  currentSec: 45
`,
      'config/topics/self-harm.yaml': selfHarm,
      'config/topics/broken.yaml': 'id: broken\nname: [unclosed\nseverity: high\n',
      'config/topics/scams.yaml': scams.replace('severity: medium', 'severity: urgent'),
    });
    const err = configError(() => loadConfig({ env: { KAFKA_BROKERS: 'localhost:9092', HTTP_PORT: 'abc' }, cwd }));

    expect(err.code).toBe('CONFIG_INVALID');
    expect(where(err.problems)).toEqual(
      [
        'env | HTTP_PORT',
        'env | REDIS_URL',
        'broken.yaml | ',
        'scams.yaml | severity',
        'main.yaml | windows.currentSec',
        'main.yaml | topics.1',
      ].sort(),
    );
    const message = (source: string, path: string) => err.problems.find((p) => p.source.endsWith(source) && p.path === path)?.message;
    expect(message('broken.yaml', '')).toMatch(/cannot parse/);
    expect(message('main.yaml', 'windows.currentSec')).toMatch(/multiple of bucketSec/);
    expect(message('main.yaml', 'topics.1')).toMatch(/unknown topic "no-such-topic"/);
    expect(message('env', 'REDIS_URL')).toMatch(/KAFKA_BROKERS and REDIS_URL/);

    for (const file of ['main.yaml', 'broken.yaml', 'scams.yaml']) expect(err.message).toContain(file);
    expect(err.message).toContain('HTTP_PORT');
    expect(err.message).toContain('REDIS_URL');
    expect(err.message).toContain('6 problems');
  });

  it('checks the topics a pipeline names even when its other settings are invalid', () => {
    const cwd = setup({
      'pipelines/main.yaml': 'id: main\ntopics: [no-such-topic]\ndetect: { minCount: 0 }\n',
      'config/topics/scams.yaml': scams,
    });
    const err = configError(() => loadConfig({ env: {}, cwd }));
    expect(where(err.problems)).toEqual(['main.yaml | detect.minCount', 'main.yaml | topics.0']);
  });

  it('does not call a topic unknown when its file exists but is invalid', () => {
    const cwd = setup({
      'pipelines/main.yaml': 'id: main\ntopics: [scams, broken]\n',
      'config/topics/scams.yaml': scams.replace('severity: medium', 'severity: urgent'),
      'config/topics/broken.yaml': 'id: broken\nname: [unclosed\n',
    });
    const err = configError(() => loadConfig({ env: {}, cwd }));
    expect(where(err.problems)).toEqual(['broken.yaml | ', 'scams.yaml | severity']);
  });

  it.each([
    { name: 'KAFKA_BROKERS without REDIS_URL', env: { KAFKA_BROKERS: 'localhost:9092' }, problems: ['env | REDIS_URL'] },
    { name: 'REDIS_URL without KAFKA_BROKERS', env: { REDIS_URL: 'redis://localhost:6379' }, problems: ['env | KAFKA_BROKERS'] },
    {
      name: 'service mode without AUTHOR_HASH_KEY',
      env: { KAFKA_BROKERS: 'localhost:9092', REDIS_URL: 'redis://localhost:6379', SURGEWATCH_API_KEYS: serviceEnv.SURGEWATCH_API_KEYS },
      problems: ['env | AUTHOR_HASH_KEY'],
    },
    { name: 'service mode with the API but no SURGEWATCH_API_KEYS', env: { ...serviceEnv, SURGEWATCH_API_KEYS: undefined }, problems: ['env | SURGEWATCH_API_KEYS'] },
    { name: 'an API key entry with an unknown role', env: { SURGEWATCH_API_KEYS: 'ops:root:an-api-key-of-24-characters-or-more' }, problems: ['env SURGEWATCH_API_KEYS | entry 1'] },
    { name: 'HTTP_CORS_ORIGINS not an origin', env: { HTTP_CORS_ORIGINS: 'https://ok.example, javascript:alert(1)' }, problems: ['env | HTTP_CORS_ORIGINS.1'] },
    { name: 'short AUTHOR_HASH_KEY', env: { ...serviceEnv, AUTHOR_HASH_KEY: 'short' }, problems: ['env | AUTHOR_HASH_KEY'] },
    { name: 'broker without port', env: { ...serviceEnv, KAFKA_BROKERS: 'localhost' }, problems: ['env | KAFKA_BROKERS.0'] },
    { name: 'REDIS_URL not a redis URL', env: { ...serviceEnv, REDIS_URL: 'http://localhost' }, problems: ['env | REDIS_URL'] },
    { name: 'HTTP_PORT=abc', env: { HTTP_PORT: 'abc' }, problems: ['env | HTTP_PORT'] },
    { name: 'HTTP_PORT out of range', env: { HTTP_PORT: '70000' }, problems: ['env | HTTP_PORT'] },
    { name: 'unknown LOG_LEVEL', env: { LOG_LEVEL: 'verbose' }, problems: ['env | LOG_LEVEL'] },
    {
      name: 'several bad variables at once',
      env: { HTTP_PORT: 'abc', LOG_LEVEL: 'verbose', KAFKA_BROKERS: 'localhost:9092' },
      problems: ['env | HTTP_PORT', 'env | LOG_LEVEL', 'env | REDIS_URL'],
    },
  ])('env: $name', ({ env, problems }) => {
    const err = configError(() => loadConfig({ env, cwd: setup(validFiles) }));
    expect(where(err.problems)).toEqual([...problems].sort());
  });

  it('requires a topic id to match its file name', () => {
    const cwd = setup({ ...validFiles, 'config/topics/scams.yaml': scams.replace('id: scams', 'id: fraud') });
    const err = configError(() => loadConfig({ env: {}, cwd }));
    const idProblem = err.problems.find((p) => p.path === 'id');
    expect(idProblem?.source).toBe(join(cwd, 'config/topics/scams.yaml'));
    expect(idProblem?.message).toMatch(/"fraud".*"scams"/);
    expect(err.message).toContain('scams.yaml');
  });

  it('requires a pipeline id to match its file name', () => {
    const cwd = setup({ ...validFiles, 'pipelines/main.yaml': pipeline.replace('id: main', 'id: other') });
    const err = configError(() => loadConfig({ env: {}, cwd }));
    expect(where(err.problems)).toEqual(['main.yaml | id']);
  });

  it('reports duplicate topic ids with both files', () => {
    const cwd = setup({ ...validFiles, 'config/topics/scams.json': JSON.stringify({ id: 'scams', name: 'Scams again', severity: 'low' }) });
    const err = configError(() => loadConfig({ env: {}, cwd }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.path).toBe('id');
    expect(err.problems[0]!.message).toMatch(/duplicate topic id "scams"/);
    expect(err.message).toContain('scams.json');
    expect(err.message).toContain('scams.yaml');
  });

  it('reports missing folders and empty folders', () => {
    const missing = configError(() => loadConfig({ env: {}, cwd: setup({}) }));
    expect(missing.problems.map((p) => p.message)).toEqual([expect.stringMatching(/cannot read directory/), expect.stringMatching(/cannot read directory/)]);
    expect(missing.message).toContain('pipelines');
    expect(missing.message).toContain(join('config', 'topics'));

    const cwd = setup({ 'pipelines/README.md': 'x', 'config/topics/README.md': 'x' });
    const empty = configError(() => loadConfig({ env: {}, cwd }));
    expect(empty.problems.map((p) => p.message)).toEqual([expect.stringMatching(/no pipeline files/), expect.stringMatching(/no topic files/)]);
  });

  it.each([
    { name: 'an unknown key in a topic', file: 'config/topics/scams.yaml', text: `${scams}treshold: 2\n`, path: '' },
    { name: 'a zero term weight', file: 'config/topics/scams.yaml', text: `${scams}  - { term: x, weight: 0 }\n`, path: 'terms.1.weight' },
    { name: 'an unknown match mode', file: 'config/topics/scams.yaml', text: `${scams}  - { term: x, mode: regex }\n`, path: 'terms.1' },
    { name: 'an unknown dimension', file: 'pipelines/main.yaml', text: `${pipeline}  dimensions: [country]\n`, path: 'windows.dimensions.0' },
    { name: 'retention shorter than the windows', file: 'pipelines/main.yaml', text: pipeline.replace('retentionSec: 3600', 'retentionSec: 600'), path: 'windows.retentionSec' },
  ])('reports $name with its path', ({ file, text, path }) => {
    const cwd = setup({ ...validFiles, [file]: text });
    const err = configError(() => loadConfig({ env: {}, cwd }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.source).toBe(join(cwd, file));
    expect(err.problems[0]!.path).toBe(path);
  });

  it('checks the models a pipeline names, its fallback included (null: no fallback)', () => {
    const named = (semantic: string) => setup({ ...validFiles, 'pipelines/main.yaml': `${pipeline}semantic: ${semantic}\n` });
    expect(loadConfig({ env: {}, cwd: named('{ model: use-lite }') }).pipelines[0]!.semantic.fallbackModel).toBe('use-lite');
    expect(loadConfig({ env: {}, cwd: named('{ fallbackModel: null }') }).pipelines[0]!.semantic.fallbackModel).toBeNull();
    const err = configError(() => loadConfig({ env: {}, cwd: named('{ model: nope, fallbackModel: nada }') }));
    expect(err.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'semantic.model: unknown model "nope" (known: use-lite)',
      'semantic.fallbackModel: unknown model "nada" (known: use-lite)',
    ]);
  });

  it('checks maven blocks in the model manifest', () => {
    const maven = `{ artifact: "dev.langchain4j:m:1.0", sha256: ${'a'.repeat(64)}, files: { onnx: m.onnx, tokenizer: t.json } }`;
    const manifest = (entry: string) => setup({ ...validFiles, 'models/manifest.yaml': `models:\n  - ${entry}\n` });
    const ok = loadConfig({ env: {}, cwd: manifest(`{ id: m, backend: transformers, path: cache/m, maven: ${maven} }`) });
    expect(ok.models.get('m')).toMatchObject({ path: expect.stringMatching(/models\/cache\/m$/) as string, maven: { artifact: 'dev.langchain4j:m:1.0' } });
    for (const [entry, path] of [
      [`{ id: m, backend: transformers, hubId: a/b, maven: ${maven} }`, 'models.0.path'],
      [`{ id: m, backend: use-lite, maven: ${maven} }`, 'models.0.maven'],
      [`{ id: m, backend: transformers, path: p, maven: ${maven.replace('a'.repeat(64), 'A'.repeat(64))} }`, 'models.0.maven.sha256'],
      [`{ id: m, backend: transformers, path: p, maven: ${maven.replace('dev.langchain4j:m:1.0', 'just-a-name')} }`, 'models.0.maven.artifact'],
    ]) {
      const err = configError(() => loadConfig({ env: {}, cwd: manifest(entry!) }));
      expect(err.problems.map((p) => p.path), entry).toEqual([path]);
    }
  });
});
