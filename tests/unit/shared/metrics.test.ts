import { describe, expect, it } from 'vitest';
import { counter, createMetricsRegistry, exposition, gauge, histogram, readMetric } from '../../../src/shared/metrics.js';

describe('the metrics registry', () => {
  it('returns the metric already declared under a name, so that modules loaded twice share it', () => {
    const a = counter({ name: 'surgewatch_test_shared_total', help: 'test', labelNames: ['x'] });
    const b = counter({ name: 'surgewatch_test_shared_total', help: 'test', labelNames: ['x'] });
    expect(b).toBe(a);
    expect(() => gauge({ name: 'surgewatch_test_shared_total', help: 'test' })).toThrow(/already declared as a Counter/);
  });

  it('serves the process metrics followed by figures read from a context at each scrape', async () => {
    counter({ name: 'surgewatch_test_events_total', help: 'events', labelNames: ['kind'] }).inc({ kind: 'a' }, 2);
    histogram({ name: 'surgewatch_test_seconds', help: 'latency', buckets: [0.1, 1] }).observe(0.5);
    const registry = createMetricsRegistry();
    let depth = 3;
    readMetric(registry, { type: 'gauge', name: 'surgewatch_test_depth', help: 'depth', labelNames: ['queue'], read: () => [[{ queue: 'q1' }, depth]] });
    readMetric(registry, { type: 'counter', name: 'surgewatch_test_read_total', help: 'read', labelNames: ['p'], read: async () => [[{ p: 'x' }, 7]] });
    const first = await exposition(registry);
    expect(first).toContain('surgewatch_test_events_total{kind="a"} 2');
    expect(first).toContain('surgewatch_test_seconds_bucket{le="1"} 1');
    expect(first).toContain('surgewatch_test_depth{queue="q1"} 3');
    expect(first).toContain('# TYPE surgewatch_test_read_total counter');
    expect(first).toContain('surgewatch_test_read_total{p="x"} 7');
    depth = 5;
    const second = await exposition(registry);
    expect(second).toContain('surgewatch_test_depth{queue="q1"} 5');
    expect(second).toContain('surgewatch_test_read_total{p="x"} 7'); // read again, not added up
  });
});
