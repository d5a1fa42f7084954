import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SurgewatchError } from '../shared/errors.js';
import { metricsRegistry, type MetricsRegistry } from '../shared/metrics.js';
import { commonErrorResponses } from './errors.js';

/** A readiness check as /readyz runs it (see app.ts): throws, or says it is degraded. */
type ReadinessCheck = () => Promise<void | { degraded: string }>;

/** How often the processed-signals counter is sampled, and over how long the rate is taken. */
const SAMPLE_EVERY_MS = 5_000;
const RATE_WINDOW_MS = 60_000;
const CHECK_TIMEOUT_MS = 2_000;

export interface SystemRoutesOptions {
  /** Registries read besides the process's own (a context's scrape-time figures: consumer lag). */
  registries: readonly MetricsRegistry[];
  /** The readiness checks of /readyz; `semantic` says whether the model is loaded. */
  checks: Record<string, ReadinessCheck>;
  /** Wall clock in ms (the rate is over real time, whatever clock detection runs on). */
  nowMs?: () => number;
}

export const systemResponse = z
  .object({
    signals_per_sec: z.number().nullable().describe('Signals counted per second over the last minute, by this process; null until a second sample exists or where no worker runs'),
    consumer_lag: z.number().nullable().describe('Records behind the end of the partitions this process consumes; null where it consumes none (API-only, embedded sample stream)'),
    dead_lettered: z.number().describe('Records sent to the dead-letter topic since this process started'),
    model: z.object({ status: z.enum(['ok', 'degraded']), detail: z.string() }),
    last_tick_at: z.string().nullable().describe('The last detection tick this process ran (as lease holder), on the detection clock; null before the first'),
  })
  .meta({ id: 'System' });
export type SystemStatus = z.output<typeof systemResponse>;

/** Every sample of a metric, read from whichever registry declares it (collected on demand). */
async function values(registries: readonly MetricsRegistry[], name: string): Promise<number[] | undefined> {
  for (const r of registries) {
    const metric = r.getSingleMetric(name);
    if (metric) return (await metric.get()).values.map((v) => v.value);
  }
  return undefined;
}

class CheckTimeoutError extends Error {}

const sum = (xs: number[] | undefined) => (xs && xs.length > 0 ? xs.reduce((a, b) => a + b, 0) : undefined);

async function modelStatus(check: ReadinessCheck | undefined): Promise<SystemStatus['model']> {
  if (!check) return { status: 'ok', detail: 'no semantic scoring in this process (lexicon lists only, or an API-only process)' };
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new CheckTimeoutError(`did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)));
    const res = await Promise.race([check(), late]);
    return res ? { status: 'degraded', detail: res.degraded } : { status: 'ok', detail: 'embedding model loaded' };
  } catch (err) {
    // As on /readyz: our own errors in our words, a library's text stays out of the response.
    return { status: 'degraded', detail: `model check failed: ${err instanceof SurgewatchError || err instanceof CheckTimeoutError ? err.message : 'not answering (see the logs)'}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /v1/system: the figures an operator glances at on the dashboard, read from the same
 * metrics and readiness checks that /metrics and /readyz serve, in a form a page can show.
 */
export function registerSystemRoutes(app: FastifyInstance, opts: SystemRoutesOptions): void {
  const now = opts.nowMs ?? Date.now;
  const registries = [metricsRegistry, ...opts.registries];
  // Declared but not yet incremented reads as 0, so the first sample is taken at start.
  const processed = async () => {
    const v = await values(registries, 'surgewatch_signals_processed_total');
    return v && (sum(v) ?? 0);
  };
  // Samples of the processed counter, oldest first, so the rate covers the last minute
  // rather than the time since the previous request.
  const history: { atMs: number; total: number }[] = [];
  const sample = async () => {
    const total = await processed();
    if (total === undefined) return undefined;
    const atMs = now();
    history.push({ atMs, total });
    while (history.length > 1 && history[1]!.atMs <= atMs - RATE_WINDOW_MS) history.shift();
    return { atMs, total };
  };
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    await sample();
    timer = setInterval(() => void sample().catch(() => undefined), SAMPLE_EVERY_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));

  void app.register(async (scope) => {
    scope.setValidatorCompiler(validatorCompiler);
    scope.setSerializerCompiler(serializerCompiler);
    scope.withTypeProvider<ZodTypeProvider>().get(
      '/v1/system',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['system'],
          summary: "This process's processing rate, consumer lag, dead letters, model status and last detection tick",
          response: { 200: systemResponse, ...commonErrorResponses },
        },
      },
      async (): Promise<SystemStatus> => {
        const oldest = history[0];
        const current = await sample();
        const rate = oldest && current && current.atMs - oldest.atMs >= 1000 ? ((current.total - oldest.total) * 1000) / (current.atMs - oldest.atMs) : null;
        const lag = sum(await values(registries, 'surgewatch_consumer_lag'));
        const ticks = await values(registries, 'surgewatch_last_tick_timestamp_seconds');
        const lastTick = ticks?.filter((t) => t > 0).reduce((a, b) => Math.max(a, b), 0);
        return {
          signals_per_sec: rate === null ? null : Math.round(rate * 10) / 10,
          consumer_lag: lag ?? null,
          dead_lettered: sum(await values(registries, 'surgewatch_dead_letters_total')) ?? 0,
          model: await modelStatus(opts.checks.semantic),
          last_tick_at: lastTick ? new Date(lastTick * 1000).toISOString() : null,
        };
      },
    );
  });
}
