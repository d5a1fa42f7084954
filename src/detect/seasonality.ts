import { HOUR_MS } from '../windows/window-store.js';

export type Seasonality = 'none' | 'hour-of-day' | 'hour-of-week';

/** Days of history a profile needs before it is trusted (before that the factor is 1). */
export const MIN_DAYS: Record<Exclude<Seasonality, 'none'>, number> = { 'hour-of-day': 3, 'hour-of-week': 14 };
const MIN_FACTOR = 0.1;
const MAX_FACTOR = 10;
/** Pseudo-observations pulling each slot towards the overall mean (a slot seen once is not gospel). */
const SHRINK = 1;

const slotOf = (hourStartMs: number, mode: Exclude<Seasonality, 'none'>): number => {
  const hourOfDay = Math.floor(hourStartMs / HOUR_MS) % 24;
  if (mode === 'hour-of-day') return hourOfDay;
  const dayOfWeek = (Math.floor(hourStartMs / 86_400_000) + 4) % 7; // 1970-01-01 was a Thursday
  return dayOfWeek * 24 + hourOfDay;
};

/**
 * How much busier a series usually is in the current window's hour than during its baseline:
 * from past hourly counts, each hour-of-day (or hour-of-week) slot's level relative to the mean,
 * shrunk towards 1 for rarely seen slots, and the ratio of the current slot to the baseline's.
 * 1 when there is too little history; clipped to [0.1, 10].
 *
 * `hourly` holds counts of the whole hours from `fromHourMs` on, before the current hour.
 */
export function seasonalFactor(
  hourly: readonly number[],
  fromHourMs: number,
  mode: Seasonality,
  currentMs: number,
  baselineMidMs: number,
): number {
  if (mode === 'none') return 1;
  const first = hourly.findIndex((n) => n > 0);
  if (first < 0 || hourly.length - first < MIN_DAYS[mode] * 24) return 1;
  const slots = mode === 'hour-of-day' ? 24 : 168;
  const sum = new Array<number>(slots).fill(0);
  const seen = new Array<number>(slots).fill(0);
  let total = 0;
  for (let i = first; i < hourly.length; i++) {
    const slot = slotOf(fromHourMs + i * HOUR_MS, mode);
    sum[slot]! += hourly[i]!;
    seen[slot]!++;
    total += hourly[i]!;
  }
  const mean = total / (hourly.length - first);
  if (mean <= 0) return 1;
  const level = (slot: number) => (sum[slot]! + SHRINK * mean) / (seen[slot]! + SHRINK);
  const factor = level(slotOf(currentMs, mode)) / level(slotOf(baselineMidMs, mode));
  return Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, factor));
}
