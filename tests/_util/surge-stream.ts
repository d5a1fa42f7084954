/**
 * A stream for worker processes, which run on the wall clock: steady traffic over the 25 minutes
 * before `now` in four regions (one self-harm signal in eight), and a surge of self-harm in US-TX
 * within the last minute. It keeps the counts the store must end with.
 */
export class SurgeStream {
  /** The series the surge opens an alert on. */
  static readonly SERIES = 'self-harm|region=US-TX';
  readonly now = Math.floor(Date.now() / 10_000) * 10_000;
  /** Signals made so far. */
  n = 0;
  /** Self-harm signals made so far, of them in US-TX. */
  harm = 0;
  harmUsTx = 0;
  private readonly regions = ['GB', 'DE', 'FR', 'US-TX'];

  private signal(ts: number, region: string, harmful: boolean, author: string) {
    if (harmful) this.harm++;
    if (harmful && region === 'US-TX') this.harmUsTx++;
    const i = this.n++;
    return { key: `k${i}`, value: JSON.stringify({ id: `s${i}`, ts, text: harmful ? 'i want to die' : 'an ordinary afternoon', surface: 'post', region, author }) };
  }

  steady(count: number): { key: string; value: string }[] {
    return Array.from({ length: count }, () => {
      const i = this.n;
      return this.signal(this.now - 1_500_000 + ((i * 7919) % 1_440_000), this.regions[i % 4]!, i % 8 === 0, `a${i % 500}`);
    });
  }

  /** Self-harm in US-TX from 60 accounts within the last minute. */
  surge(count: number): { key: string; value: string }[] {
    return Array.from({ length: count }, (_, k) => this.signal(this.now - 60_000 + ((this.n * 37) % 59_000), 'US-TX', true, `surge${k % 60}`));
  }

  /** A pipeline `id` over `topic` that opens an alert on the surge within a tick or two, its events on `alertsTopic`. */
  static pipeline(id: string, topic: string, alertsTopic: string): string {
    return [
      `id: ${id}`,
      `source: { topic: ${topic} }`,
      'topics: [self-harm]',
      'windows: { bucketSec: 10, currentSec: 300, baselineSec: 1800, baselineGapSec: 0, retentionSec: 7200, latenessSec: 86400, dimensions: [region] }',
      'detect: { tickSec: 1, minCount: 10, minRatio: 3, zThreshold: 4, openAfterTicks: 1, minBaselineCoverage: 0, resolveAfterTicks: 1000 }',
      `alerts: { kafkaTopic: ${alertsTopic} }`,
    ].join('\n');
  }
}
