import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../shared/errors.js';
import { parseApiKeys, type ApiKeyEntry } from './api-keys.js';
import { envSchema, type Env } from './env-schema.js';
import { DEFAULT_MODEL, modelManifestSchema, type ModelSpec } from './model-schema.js';
import { pipelineSchema, type PipelineConfig } from './pipeline-schema.js';
import { topicDefinitionSchema, type TopicDefinition } from './topic-schema.js';
import { isHttpUrl, resolveSecret, Secret, type WebhookRoute } from './webhook-schema.js';

export type Mode = 'embedded' | 'service';

/** Everything the program needs, validated. */
export interface AppConfig {
  mode: Mode;
  env: Env;
  pipelines: PipelineConfig[];
  topics: TopicDefinition[];
  /** The folder topics were read from (absolute): watched for hot reload. */
  topicsDir: string;
  /** When the topic files were last changed (the newest modification time), in ms. */
  topicsEditedAtMs: number;
  /** Which topics each pipeline file names: re-checked on every reload of the topics folder. */
  topicReferences: TopicReferences[];
  /** Key for hashing author ids (a fixed development key in embedded mode). */
  authorHashKey: string;
  /** Embedding models by id: the manifest's, plus use-lite, which is always available. */
  models: ReadonlyMap<string, ModelSpec>;
  /** Every pipeline's webhook routes, with their URLs and secrets read. */
  webhooks: WebhookRoute[];
  /** API keys from SURGEWATCH_API_KEYS, hashed (the raw value is not kept in `env`). */
  apiKeys: ApiKeyEntry[];
  /** Where the API listens, and why there when HTTP_HOST is unset. */
  http: { host: string; hostReason: string | undefined };
  /** Embedded mode without configured keys: the file of the generated admin key (absolute). */
  adminKeyFile: string;
}

const EMBEDDED_AUTHOR_KEY = 'surgewatch-embedded-mode-only';
const DATA_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The only place that reads process.env. */
export function readProcessEnv(): Record<string, string | undefined> {
  return { ...process.env };
}

function zodProblems(source: string, error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => ({ source, path: issue.path.map(String).join('.'), message: issue.message }));
}

export function parseEnv(raw: Record<string, string | undefined>): { env?: Env; problems: ConfigProblem[] } {
  // Empty strings mean "unset", as in most shells' `FOO= cmd`.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  return parsed.success ? { env: parsed.data, problems: [] } : { problems: zodProblems('env', parsed.error) };
}

/** Reads and validates every data file in a folder; a file that is not YAML/JSON is ignored. */
export function loadDataFiles<S extends z.ZodType>(
  dir: string,
  schema: S,
): { items: { file: string; value: z.output<S> }[]; problems: ConfigProblem[]; rejected: { file: string; data: unknown }[] } {
  const items: { file: string; value: z.output<S> }[] = [];
  const problems: ConfigProblem[] = [];
  // Files that did not parse or validate, so that cross-file checks can still look at them.
  const rejected: { file: string; data: unknown }[] = [];
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return { items, problems: [{ source: dir, path: '', message: 'is not a directory' }], rejected };
    names = readdirSync(dir).filter((n) => DATA_EXTENSIONS.has(extname(n).toLowerCase())).sort();
  } catch (err) {
    return { items, problems: [{ source: dir, path: '', message: `cannot read directory: ${(err as Error).message}` }], rejected };
  }
  for (const name of names) {
    const file = join(dir, name);
    let data: unknown;
    try {
      const text = readFileSync(file, 'utf8');
      data = extname(name).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      problems.push({ source: file, path: '', message: `cannot parse: ${(err as Error).message.split('\n')[0]}` });
      rejected.push({ file, data: undefined });
      continue;
    }
    const parsed = schema.safeParse(data);
    if (parsed.success) items.push({ file, value: parsed.data });
    else {
      problems.push(...zodProblems(file, parsed.error));
      rejected.push({ file, data });
    }
  }
  return { items, problems, rejected };
}

function idProblems(items: { file: string; value: { id: string } }[], kind: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, string>();
  for (const { file, value } of items) {
    const stem = basename(file, extname(file));
    if (stem !== value.id) problems.push({ source: file, path: 'id', message: `${kind} id "${value.id}" must match the file name "${stem}"` });
    const first = seen.get(value.id);
    if (first) problems.push({ source: file, path: 'id', message: `duplicate ${kind} id "${value.id}" (also in ${first})` });
    else seen.set(value.id, file);
  }
  return problems;
}

/** A pipeline's topic references, located for problem reports (valid or not). */
export interface TopicReferences {
  /** The pipeline file, named in problems. */
  source: string;
  /** The pipeline's `topics` value as written: "all", an array of ids, or anything invalid. */
  topics: unknown;
}

/** The outcome of reading a topics folder: definitions when valid, else every problem. */
export interface TopicLoad {
  topics: TopicDefinition[];
  problems: ConfigProblem[];
}

/**
 * Reads and validates every topic file of a folder and checks it against the pipelines that
 * name topics. The one check used both at start and on hot reload, so that a file accepted at
 * start is accepted on reload and the other way round.
 */
export function loadTopics(topicsDir: string, references: readonly TopicReferences[]): TopicLoad {
  const topics = loadDataFiles(topicsDir, topicDefinitionSchema);
  const problems = [...topics.problems, ...idProblems(topics.items, 'topic')];
  if (topics.items.length === 0 && topics.problems.length === 0)
    problems.push({ source: topicsDir, path: '', message: 'no topic files (*.yaml, *.yml, *.json) found' });

  // A topic whose file exists but is invalid is already reported; do not also call it unknown.
  const topicIds = new Set([...topics.items.map((t) => t.value.id), ...topics.rejected.map((t) => basename(t.file, extname(t.file)))]);
  for (const { source, topics: wanted } of references) {
    if (!Array.isArray(wanted)) continue;
    wanted.forEach((id: unknown, i) => {
      if (typeof id === 'string' && !topicIds.has(id)) problems.push({ source, path: `topics.${i}`, message: `unknown topic "${id}" (no file for it in ${topicsDir})` });
    });
  }
  return { topics: problems.length === 0 ? topics.items.map((t) => t.value) : [], problems };
}

/**
 * Reads models/manifest.yaml (a missing file is fine: use-lite is built in). Local model paths
 * are resolved against the manifest's folder.
 */
export function loadModels(file: string): { models: Map<string, ModelSpec>; problems: ConfigProblem[] } {
  const models = new Map<string, ModelSpec>([[DEFAULT_MODEL.id, DEFAULT_MODEL]]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { models, problems: [] };
    return { models, problems: [{ source: file, path: '', message: `cannot read: ${(err as Error).message}` }] };
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    return { models, problems: [{ source: file, path: '', message: `cannot parse: ${(err as Error).message.split('\n')[0]}` }] };
  }
  const parsed = modelManifestSchema.safeParse(data);
  if (!parsed.success) return { models, problems: zodProblems(file, parsed.error) };
  const problems: ConfigProblem[] = [];
  parsed.data.models.forEach((m, i) => {
    if (models.has(m.id) && m.id !== DEFAULT_MODEL.id) problems.push({ source: file, path: `models.${i}.id`, message: `duplicate model id "${m.id}"` });
    models.set(m.id, m.path ? { ...m, path: resolve(dirname(file), m.path) } : m);
  });
  return { models, problems };
}

/**
 * Loads env, pipeline files and topic files; throws one ConfigError that lists every problem.
 */
export function loadConfig(options: { env?: Record<string, string | undefined>; cwd?: string } = {}): AppConfig {
  const cwd = options.cwd ?? process.cwd();
  const rawEnv = options.env ?? readProcessEnv();
  const { env, problems } = parseEnv(rawEnv);
  const dirOf = (d: string) => (isAbsolute(d) ? d : resolve(cwd, d));
  const pipelinesDir = dirOf(env?.SURGEWATCH_PIPELINES_DIR ?? 'pipelines');
  const topicsDir = dirOf(env?.SURGEWATCH_TOPICS_DIR ?? 'config/topics');

  const pipelines = loadDataFiles(pipelinesDir, pipelineSchema);
  problems.push(...pipelines.problems, ...idProblems(pipelines.items, 'pipeline'));
  if (pipelines.items.length === 0 && pipelines.problems.length === 0)
    problems.push({ source: pipelinesDir, path: '', message: 'no pipeline files (*.yaml, *.yml, *.json) found' });

  // Pipelines that failed validation still get their topic references checked: every problem at once.
  const rawTopics = (data: unknown): unknown => (typeof data === 'object' && data !== null ? (data as { topics?: unknown }).topics : undefined);
  const topics = loadTopics(topicsDir, [
    ...pipelines.items.map(({ file, value }) => ({ source: file, topics: value.topics as unknown })),
    ...pipelines.rejected.map(({ file, data }) => ({ source: file, topics: rawTopics(data) })),
  ]);
  problems.push(...topics.problems);

  const modelsFile = dirOf(env?.SURGEWATCH_MODELS_FILE ?? 'models/manifest.yaml');
  const models = loadModels(modelsFile);
  problems.push(...models.problems);
  const semanticOverride = env?.SURGEWATCH_SEMANTIC_MODE;
  const pipelineConfigs = pipelines.items.map(({ file, value }) => {
    if (semanticOverride) value.semantic.mode = semanticOverride;
    const known = () => [...models.models.keys()].join(', ');
    if (value.semantic.mode !== 'off' && !models.models.has(value.semantic.model))
      problems.push({ source: file, path: 'semantic.model', message: `unknown model "${value.semantic.model}" (known: ${known()})` });
    if (value.semantic.heads) {
      value.semantic.heads = isAbsolute(value.semantic.heads) ? value.semantic.heads : resolve(dirname(modelsFile), value.semantic.heads);
      if (value.semantic.mode !== 'off' && !existsSync(value.semantic.heads))
        problems.push({ source: file, path: 'semantic.heads', message: `no head file at ${value.semantic.heads} (train one with: surgewatch train <labelled.jsonl> --out ${value.semantic.heads})` });
    }
    const fallback = value.semantic.fallbackModel;
    if (value.semantic.mode !== 'off' && fallback !== null && !models.models.has(fallback))
      problems.push({ source: file, path: 'semantic.fallbackModel', message: `unknown model "${fallback}" (known: ${known()})` });
    return value;
  });

  const webhooks = pipelines.items.flatMap(({ file, value }) => {
    const routes = resolveWebhooks(value, dirname(file), rawEnv, topics.topics);
    problems.push(...routes.problems.map((p) => ({ ...p, source: file })));
    return routes.routes;
  });
  const apiKeys = env?.SURGEWATCH_API_KEYS ? parseApiKeys(env.SURGEWATCH_API_KEYS, cwd) : { keys: [], problems: [] };
  problems.push(...apiKeys.problems);

  if (problems.length > 0 || !env) throw new ConfigError(problems);
  const mode: Mode = env.KAFKA_BROKERS && env.REDIS_URL ? 'service' : 'embedded';
  // Keys are hashed from here on: the raw value stays out of everything that may be logged.
  delete env.SURGEWATCH_API_KEYS;
  const keyed = apiKeys.keys.length > 0;
  return {
    mode,
    env,
    apiKeys: apiKeys.keys,
    http: {
      host: env.HTTP_HOST ?? (keyed ? '0.0.0.0' : '127.0.0.1'),
      hostReason: env.HTTP_HOST || keyed ? undefined : 'listening on 127.0.0.1 only: no SURGEWATCH_API_KEYS configured (set them, or HTTP_HOST, to serve other hosts)',
    },
    adminKeyFile: dirOf(env.SURGEWATCH_ADMIN_KEY_FILE),
    pipelines: pipelineConfigs,
    topics: topics.topics,
    topicsDir,
    topicsEditedAtMs: newestModificationMs(topicsDir),
    topicReferences: pipelines.items.map(({ file, value }) => ({ source: file, topics: value.topics })),
    authorHashKey: env.AUTHOR_HASH_KEY ?? EMBEDDED_AUTHOR_KEY,
    models: models.models,
    webhooks,
  };
}

const MIN_SECRET_CHARS = 16;

/**
 * A pipeline's webhooks with their URLs and secrets read from the environment or files
 * (relative to the pipeline file's folder). Problems name the reference, never a value.
 */
export function resolveWebhooks(
  pipeline: PipelineConfig,
  baseDir: string,
  rawEnv: Record<string, string | undefined>,
  topics: readonly TopicDefinition[],
): { routes: WebhookRoute[]; problems: Omit<ConfigProblem, 'source'>[] } {
  const routes: WebhookRoute[] = [];
  const problems: Omit<ConfigProblem, 'source'>[] = [];
  const topicIds = new Set(topics.map((t) => t.id));
  pipeline.alerts.webhooks.forEach((hook, i) => {
    const at = `alerts.webhooks.${i}`;
    const before = problems.length;
    const url = typeof hook.url === 'string' ? { secret: new Secret(hook.url) } : resolveSecret(hook.url, rawEnv, baseDir);
    if (url.problem) problems.push({ path: `${at}.url`, message: url.problem });
    else if (!isHttpUrl(url.secret!.reveal())) problems.push({ path: `${at}.url`, message: 'the referenced value must be an http:// or https:// URL' });
    const secret = hook.secret ? resolveSecret(hook.secret, rawEnv, baseDir) : {};
    if (secret.problem) problems.push({ path: `${at}.secret`, message: secret.problem });
    else if (secret.secret && secret.secret.reveal().length < MIN_SECRET_CHARS)
      problems.push({ path: `${at}.secret`, message: `the referenced secret must be at least ${MIN_SECRET_CHARS} characters` });
    if (hook.topics !== 'all' && topics.length > 0)
      hook.topics.forEach((t, j) => {
        if (!topicIds.has(t)) problems.push({ path: `${at}.topics.${j}`, message: `unknown topic "${t}"` });
      });
    if (problems.length === before) routes.push({ ...hook, pipeline: pipeline.id, url: url.secret!, secret: secret.secret });
  });
  return { routes, problems };
}

/** The newest modification time of a folder's data files (and of the folder: a deleted file), in ms. */
export function newestModificationMs(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const name of readdirSync(dir)) {
    if (DATA_EXTENSIONS.has(extname(name).toLowerCase())) newest = Math.max(newest, statSync(join(dir, name)).mtimeMs);
  }
  return Math.floor(newest);
}

/** The topic definitions a pipeline scores. */
export function topicsOf(pipeline: PipelineConfig, topics: readonly TopicDefinition[]): TopicDefinition[] {
  if (pipeline.topics === 'all') return [...topics];
  const wanted = new Set(pipeline.topics);
  return topics.filter((t) => wanted.has(t.id));
}
