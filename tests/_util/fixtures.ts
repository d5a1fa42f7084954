import { pipelineSchema, type PipelineInput } from '../../src/config/pipeline-schema.js';
import { topicDefinitionSchema, type TopicDefinitionInput } from '../../src/config/topic-schema.js';
import { buildPipelineRuntime, type PipelineRuntime } from '../../src/worker/pipeline-runtime.js';
import type { Alert } from '../../src/alerts/alert.js';
import { MemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { MemoryLease } from '../../src/windows/lease.js';
import { MemoryWindowStore } from '../../src/windows/memory-window-store.js';
import type { WindowStore } from '../../src/windows/window-store.js';
import { DetectionTicker } from '../../src/worker/detection-ticker.js';

export const testTopics = [
  topicDefinitionSchema.parse({
    id: 'self-harm',
    name: 'Self-harm',
    severity: 'critical',
    terms: ['kill myself', 'want to die', { term: 'goodbye forever', weight: 0.5 }],
    hashtags: ['wanttodie'],
  } satisfies TopicDefinitionInput),
  topicDefinitionSchema.parse({
    id: 'scams-fraud',
    name: 'Scams',
    severity: 'medium',
    terms: ['guaranteed returns', 'crypto giveaway'],
  } satisfies TopicDefinitionInput),
];

export function testRuntime(overrides: Partial<PipelineInput> = {}): PipelineRuntime {
  return buildPipelineRuntime(pipelineSchema.parse({ id: 'test', ...overrides }), testTopics);
}

/** A detection ticker for one runtime over in-memory stores (or the given window store), recording every alert it opens. */
export function memoryTicker(runtime: PipelineRuntime, nowMs: number, windows: WindowStore = new MemoryWindowStore()) {
  const clock = new ManualClock(nowMs);
  const lease = new MemoryLease(clock);
  const alerts = new MemoryAlertStore({ fenceCheck: lease.holds });
  const ticker = new DetectionTicker({
    runtimes: [runtime],
    windows,
    alerts,
    lease,
    clock,
    logger: silentLogger,
  });
  return {
    ticker,
    windows,
    /** Every alert opened so far. */
    openedAlerts: (): Alert[] => alerts.events.filter((e) => e.type === 'opened').map((e) => e.alert),
  };
}

/**
 * The window store as a process sees it before any tick stored what it held: a ticker over it
 * reads every series' counts at its first tick, and stores nothing (the reference that tickers
 * which keep or restore their state are compared with).
 */
export function withoutHeldSeries<W extends WindowStore>(windows: W): W {
  return Object.assign(Object.create(windows) as W, { readHeldSeries: () => Promise.resolve(undefined), writeHeldSeries: () => Promise.resolve() });
}

/**
 * The window store with the series whose counts a reader asks for (readNonZeroCounts, as a tick
 * reads them) written down in `reads`. An alert's details read their window's counts too: not
 * written down.
 */
export function watchingCounts<W extends WindowStore>(windows: W): { store: W; reads: string[] } {
  const reads: string[] = [];
  const store = Object.assign(Object.create(windows) as W, {
    readNonZeroCounts: (...args: Parameters<WindowStore['readNonZeroCounts']>) => {
      reads.push(...args[1].map((s) => (typeof s === 'string' ? s : s.series)));
      return windows.readNonZeroCounts(...args);
    },
    readDetails: (...args: Parameters<WindowStore['readDetails']>) => windows.readDetails(...args),
  });
  return { store, reads };
}
