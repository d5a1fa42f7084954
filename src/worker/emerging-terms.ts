import { parseSeries } from '../alerts/alert.js';
import { normalizeHashtag, normalizeText } from '../normalize/text.js';
import type { Clock } from '../shared/clock.js';
import { bucketStart, type WindowStore } from '../windows/window-store.js';
import type { PipelineLists, PipelineRuntime } from './pipeline-runtime.js';

/** A term or hashtag seen riding with a topic's hits that the topic's lists lacked when it was counted. */
export interface EmergingTermSeen {
  topic: string;
  /** As counted: "#tag" for hashtags, the folded word otherwise. */
  term: string;
  /** Signals hitting the topic that carried it, over the period read. */
  count: number;
  /** When it was first counted for this topic (ms). */
  firstSeenMs: number;
  /** True when the topic's lists in force have it now (accepted since it was counted). */
  listed: boolean;
}

const TERM_DIMENSION = 'term=';
/** Term series read at most per request (the busiest first). */
const MAX_SERIES = 5000;
const CHUNK = 500;

/**
 * Reads the emerging-term candidates the pipeline counts (series "<topic>|term=<term>") with
 * their counts over a recent period, for the people who maintain the lists. Reads only.
 */
export class EmergingTermsReader {
  constructor(
    private readonly runtimes: readonly PipelineRuntime[],
    private readonly windows: WindowStore,
    private readonly clock: Clock,
    /** The lists in force (a process that does not run the pipeline may hold older ones). */
    private readonly listsOf: (pipeline: string) => Promise<PipelineLists | undefined>,
  ) {}

  pipelines(): string[] {
    return this.runtimes.map((r) => r.config.id);
  }

  async read(pipeline: string, minutes: number, limit: number): Promise<{ fromMs: number; toMs: number; terms: EmergingTermSeen[] }> {
    const rt = this.runtimes.find((r) => r.config.id === pipeline);
    if (!rt) throw new Error(`unknown pipeline "${pipeline}"`);
    const bucketMs = rt.layout.bucketMs;
    const now = this.clock.now();
    // Never past what the windows keep.
    const spanMs = Math.min(minutes * 60_000, rt.config.windows.retentionSec * 1000);
    const toBucket = bucketStart(now, bucketMs);
    const fromBucket = bucketStart(now - spanMs, bucketMs);
    const live = (await this.windows.liveSeries(pipeline, fromBucket, MAX_SERIES)).filter((s) => parseSeries(s.series).dimension.startsWith(TERM_DIMENSION));
    const lists = (await this.listsOf(pipeline)) ?? rt.lists;
    const terms: EmergingTermSeen[] = [];
    for (let i = 0; i < live.length; i += CHUNK) {
      const chunk = live.slice(i, i + CHUNK);
      const counts = await this.windows.readNonZeroCounts(pipeline, chunk, fromBucket, toBucket, bucketMs);
      for (const s of chunk) {
        const pairs = counts.get(s.series) ?? [];
        let count = 0;
        for (let k = 1; k < pairs.length; k += 2) count += pairs[k]!;
        if (count === 0) continue;
        const { topic, dimension } = parseSeries(s.series);
        const term = dimension.slice(TERM_DIMENSION.length);
        const key = term.startsWith('#') ? normalizeHashtag(term.slice(1)) : normalizeText(term).tokens[0]?.key;
        terms.push({ topic, term, count, firstSeenMs: s.firstSeenMs, listed: key !== undefined && (lists.knownKeys.get(topic)?.has(key) ?? false) });
      }
    }
    terms.sort((a, b) => b.count - a.count || b.firstSeenMs - a.firstSeenMs || a.term.localeCompare(b.term));
    return { fromMs: fromBucket, toMs: toBucket + bucketMs, terms: terms.slice(0, limit) };
  }
}
