/** The synthetic stream the detection tests replay (also handy for trying settings by hand). */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { StreamSpec } from '../../src/synthetic/stream.js';

/** Writes rows as JSON lines, with backpressure. */
export async function writeJsonl(file: string, rows: Iterable<unknown>): Promise<void> {
  const out = createWriteStream(file);
  for (const r of rows) if (!out.write(`${JSON.stringify(r)}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

export const START = Date.UTC(2026, 10, 1, 6, 0, 0);
export const min = (m: number) => new Date(START + m * 60_000).toISOString();

export const spec: StreamSpec = {
  seed: 20261122,
  startMs: START,
  minutes: 150,
  perSec: 40,
  regions: ['US-TX', 'US-CA', 'GB', 'DE', 'BR'],
  topics: [
    { id: 'self-harm', share: 0.01, texts: ['i want to kill myself', 'thinking about suicide again tonight', 'i just want to die', 'no reason to live anymore'] },
    { id: 'scams-fraud', share: 0.01, texts: ['guaranteed returns in one week', 'double your bitcoin now', 'crypto giveaway, send 1 get 2'] },
    { id: 'hate-speech', share: 0.006, texts: ['go back to your country', 'they are subhuman', 'the great replacement is real'] },
  ],
  benign: [
    'lovely weather for a walk',
    'anyone watching the game tonight',
    'new recipe: lemon pasta',
    'my cat knocked over the plant again',
    'traffic on the bridge is terrible',
    'finally finished my thesis',
    'best coffee in town is on 5th street',
    'the concert last night was amazing',
  ],
  surges: [
    { topic: 'self-harm', region: 'US-TX', atMin: 45, minutes: 10, factor: 20 },
    { topic: 'scams-fraud', region: 'GB', atMin: 60, minutes: 15, factor: 5 },
    { topic: 'hate-speech', region: 'DE', atMin: 75, minutes: 25, factor: 5, shape: 'gradual' },
    { topic: 'self-harm', region: 'BR', atMin: 95, minutes: 15, factor: 2 },
    { topic: 'scams-fraud', region: 'US-CA', atMin: 120, minutes: 10, factor: 10, authors: 3 },
  ],
  decoys: [
    // Benign viral content with harm words in it: the lists' exclusions keep it out.
    { region: 'US-CA', atMin: 85, minutes: 10, perSec: 3, text: 'the suicide squad trailer just dropped' },
    { region: 'GB', atMin: 100, minutes: 10, perSec: 5, text: 'the eclipse tonight is unreal' },
  ],
};

