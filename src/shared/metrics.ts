import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';

/**
 * The process's metrics. Stages record into metrics they declare here, usually at module level:
 *
 *   const lag = gauge({ name: 'surgewatch_consumer_lag', help: '...', labelNames: ['pipeline', 'partition'] });
 *   lag.set({ pipeline, partition }, n);
 *
 * Declaring the same name twice returns the first metric, so a module loaded by several
 * contexts (tests) shares it. GET /metrics serves this registry, followed by the figures a
 * context reads from its own objects when scraped (see AppContext).
 */
export const metricsRegistry = new Registry();

let processMetrics = false;

/** Adds Node's process metrics (CPU, memory, event loop lag, GC) once per process. */
export function enableProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'surgewatch_' });
}

function existing<T>(name: string, kind: string, make: () => T): T {
  const found = metricsRegistry.getSingleMetric(name);
  if (!found) return make();
  if (found.constructor.name !== kind) throw new Error(`metric ${name} is already declared as a ${found.constructor.name}`);
  return found as T;
}

export function counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
  return existing(config.name, 'Counter', () => new Counter({ ...config, registers: [metricsRegistry] }));
}

export function gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
  return existing(config.name, 'Gauge', () => new Gauge({ ...config, registers: [metricsRegistry] }));
}

export function histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
  return existing(config.name, 'Histogram', () => new Histogram({ ...config, registers: [metricsRegistry] }));
}

/** Latency buckets in seconds, 1 ms to 10 s. */
export const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type MetricsRegistry = Registry;

/** A registry for figures one context reads from its own objects when scraped. */
export function createMetricsRegistry(): MetricsRegistry {
  return new Registry();
}

type Labels<L extends string> = Partial<Record<L, string>>;

/**
 * A metric whose values are read from elsewhere at each scrape (stats objects, stores): `read`
 * returns every labelled value. Counters read this way must come from monotonic figures.
 */
export function readMetric<L extends string>(
  registry: MetricsRegistry,
  config: { type: 'gauge' | 'counter'; name: string; help: string; labelNames: readonly L[]; read: () => Iterable<[Labels<L>, number]> | Promise<Iterable<[Labels<L>, number]>> },
): void {
  const { type, read, ...rest } = config;
  const fill = async (m: Gauge<L> | Counter<L>) => {
    const rows = await read();
    m.reset();
    for (const [labels, value] of rows) {
      if (m instanceof Gauge) m.set(labels, value);
      else if (value > 0) m.inc(labels, value);
      else m.inc(labels, 0);
    }
  };
  if (type === 'gauge') {
    new Gauge<L>({ ...rest, registers: [registry], async collect() { await fill(this); } });
  } else {
    new Counter<L>({ ...rest, registers: [registry], async collect() { await fill(this); } });
  }
}

/** The exposition of the process registry followed by the given ones. */
export async function exposition(...registries: MetricsRegistry[]): Promise<string> {
  const parts = await Promise.all([metricsRegistry, ...registries].map((r) => r.metrics()));
  return parts.filter((p) => p.trim() !== '').join('\n');
}

export const metricsContentType = metricsRegistry.contentType;
