/**
 * The real labelled development data in ../shared/data (next to the repository, never copied
 * into it), or where SURGEWATCH_SHARED_DATA says. A test that needs it fails, loudly, when it is
 * not there. The benches find it here too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeLabelledLine } from '../../src/cli/labelled-file.js';
import type { LabelledRow } from '../../src/training/labelled.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDataDir = process.env.SURGEWATCH_SHARED_DATA ? resolve(process.env.SURGEWATCH_SHARED_DATA) : resolve(repoRoot, '../shared/data');
export const labelledDevFile = resolve(sharedDataDir, 'text/labelled-dev.jsonl');

/** The path of labelled-dev.jsonl; throws with what is missing and where it was looked for. */
export function requireLabelledDev(): string {
  if (!existsSync(labelledDevFile))
    throw new Error(`the labelled development data is missing: expected ${labelledDevFile} (../shared/data next to the repository, or SURGEWATCH_SHARED_DATA; see its README)`);
  return labelledDevFile;
}

let cached: { rows: LabelledRow[]; bad: number } | undefined;

/** Every valid row of labelled-dev.jsonl (as the commands read it), and how many lines they reject. */
export function readLabelledDev(): { rows: LabelledRow[]; bad: number } {
  if (cached) return cached;
  const rows: LabelledRow[] = [];
  let bad = 0;
  for (const line of readFileSync(requireLabelledDev(), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const decoded = decodeLabelledLine(Buffer.from(line));
    if (decoded.ok) rows.push(decoded.row);
    else bad++;
  }
  cached = { rows, bad };
  return cached;
}
