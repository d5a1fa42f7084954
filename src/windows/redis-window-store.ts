import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';
import { chunkStart, createKeys, type Keys } from './keys.js';
import {
  BUCKETS_PER_CHUNK,
  DAY_MS,
  HOUR_MS,
  batchTextTtlSec,
  bucketRange,
  dedupSlice,
  denseCounts,
  readBounds,
  samplesOf,
  sortNonZero,
  type NonZeroCounts,
  type SeriesToRead,
  type ApplyResult,
  type ChangeCursor,
  type CountBatch,
  type SeriesChanges,
  type HeldSeries,
  type HeldSeriesSet,
  type HeldSeriesWrite,
  encodeHeld,
  decodeHeld,
  type SeriesInfo,
  type StoredSample,
  type WindowDetails,
  type WindowStore,
} from './window-store.js';

const applyBatchLua = readFileSync(new URL('./lua/apply-batch.lua', import.meta.url), 'utf8');
const readCountsLua = readFileSync(new URL('./lua/read-counts.lua', import.meta.url), 'utf8');
const writeHeldSeriesLua = readFileSync(new URL('./lua/write-held-series.lua', import.meta.url), 'utf8');

/** The offset fence outlives the counts: a week. */
const OFFSETS_TTL_SEC = 7 * 86_400;
/** Lua's unpack() has a stack limit; variadic commands are split below it. */
const MAX_ARGS_PER_OP = 1000;
/**
 * Count chunks per read-counts script call: each costs Redis a few microseconds, during which it
 * serves no one else, so a call stays within some tens of milliseconds at worst.
 */
const MAX_CHUNKS_PER_READ = 4000;

/** Held series (or series to forget) per write-held-series call: two arguments each, within Lua's unpack() limit. */
const MAX_HELD_PER_WRITE = 500;
/** The held-series hash's own fields (a series id never starts with NUL). */
const HELD_EPOCH = '\0epoch';
const HELD_SEQ = '\0seq';
const HELD_LIMIT = '\0limit';

type Payload = {
  c: [number, number, number][];
  a: (number | string)[][];
  t: [number, string, number][];
  s: (number | string)[][];
  z: [string, number, number][];
  h: [number, number, number][];
  tot: [string, number][];
  d?: (number | string)[][];
  x?: [number, string][];
};

/** What a seen-set keeps of a signal id: 96 bits of its SHA-256, so that any id costs 16 bytes. */
function seenMember(id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 16);
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    surgewatchApplyBatch(numKeys: number, ...args: (string | number)[]): Result<[number, (string | string[])?], Context>;
    surgewatchReadCounts(numKeys: number, ...args: (string | number)[]): Result<string[], Context>;
    surgewatchWriteHeldSeries(numKeys: number, ...args: (string | number)[]): Result<number, Context>;
  }
}

export class RedisWindowStore implements WindowStore {
  private readonly keysByPipeline = new Map<string, Keys>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('surgewatchApplyBatch', { lua: applyBatchLua });
    redis.defineCommand('surgewatchReadCounts', { lua: readCountsLua });
    redis.defineCommand('surgewatchWriteHeldSeries', { lua: writeHeldSeriesLua });
  }

  private keys(pipeline: string): Keys {
    let k = this.keysByPipeline.get(pipeline);
    if (!k) this.keysByPipeline.set(pipeline, (k = createKeys(this.prefix, pipeline)));
    return k;
  }

  async applyBatch(batch: CountBatch): Promise<ApplyResult> {
    const k = this.keys(batch.pipeline);
    const { bucketMs, samplesPerBucket } = batch.layout;
    const dataKeys: string[] = [];
    const keyIndex = new Map<string, number>();
    const indexOf = (key: string): number => {
      let i = keyIndex.get(key);
      if (i === undefined) {
        dataKeys.push(key);
        i = dataKeys.length + 6; // KEYS[1..6] are the fixed keys
        keyIndex.set(key, i);
      }
      return i;
    };

    const counts = new Map<string, number>(); // "series\0bucket" -> n
    const authors = new Map<string, Set<string>>(); // detail key -> hashes
    const terms = new Map<string, Map<string, number>>();
    const samples = new Map<string, string[]>();
    const active = new Map<string, { first: number; last: number }>(); // series -> bucket span in this batch
    for (const s of batch.signals) {
      for (const series of s.series) {
        const ck = `${series}\0${s.bucketMs}`;
        counts.set(ck, (counts.get(ck) ?? 0) + 1);
        const span = active.get(series);
        if (!span) active.set(series, { first: s.bucketMs, last: s.bucketMs });
        else if (s.bucketMs > span.last) span.last = s.bucketMs;
        else if (s.bucketMs < span.first) span.first = s.bucketMs;
        if (s.countOnly) continue;
        if (s.authorHash) {
          const ak = k.authors(series, s.bucketMs);
          let set = authors.get(ak);
          if (!set) authors.set(ak, (set = new Set()));
          set.add(s.authorHash);
        }
        if (s.terms.length > 0) {
          const tk = k.terms(series, s.bucketMs);
          let m = terms.get(tk);
          if (!m) terms.set(tk, (m = new Map()));
          for (const t of s.terms) m.set(t, (m.get(t) ?? 0) + 1);
        }
        if (samplesPerBucket > 0) {
          const sk = k.samples(series, s.bucketMs);
          let list = samples.get(sk);
          if (!list) samples.set(sk, (list = []));
          list.push(s.id);
          // Only the newest samplesPerBucket survive the LTRIM; do not ship the rest.
          if (list.length > samplesPerBucket) list.shift();
        }
      }
    }

    const payload: Payload = { c: [], a: [], t: [], s: [], z: [], h: [], tot: [] };
    if (batch.layout.hourlyTtlSec > 0) {
      const hourly = new Map<string, number>(); // hourly key \0 hour-of-day -> n
      for (const [ck, n] of counts) {
        const [series, b] = ck.split('\0') as [string, string];
        const bucket = Number(b);
        const day = Math.floor(bucket / DAY_MS) * DAY_MS;
        const hk = `${k.hourly(series, day)}\0${Math.floor((bucket - day) / HOUR_MS)}`;
        hourly.set(hk, (hourly.get(hk) ?? 0) + n);
      }
      for (const [hk, n] of hourly) {
        const [key, hour] = hk.split('\0') as [string, string];
        payload.h.push([indexOf(key), Number(hour), n]);
      }
    }
    for (const [ck, n] of counts) {
      const [series, b] = ck.split('\0') as [string, string];
      const bucket = Number(b);
      payload.c.push([indexOf(k.counts(series, chunkStart(bucket, bucketMs))), bucket, n]);
    }
    for (const [key, set] of authors) {
      const all = [...set];
      for (let i = 0; i < all.length; i += MAX_ARGS_PER_OP) payload.a.push([indexOf(key), ...all.slice(i, i + MAX_ARGS_PER_OP)]);
    }
    for (const [key, m] of terms) for (const [term, n] of m) payload.t.push([indexOf(key), term, n]);
    for (const [key, list] of samples) payload.s.push([indexOf(key), ...list]);
    const textTtlSec = batchTextTtlSec(batch.layout);
    if (textTtlSec > 0 && samples.size > 0) {
      payload.x = samplesOf(batch.signals, new Set([...samples.values()].flat())).map(({ id, ...rest }) => [indexOf(k.sampleText(id)), JSON.stringify({ id, ...rest })]);
    }
    for (const [series, { first, last }] of active) payload.z.push([series, last, first]);
    for (const [field, n] of Object.entries(batch.totals)) if (n !== 0) payload.tot.push([field, n]);
    const dedupSec = batch.layout.dedupSec ?? 0;
    const idsOf = new Map<string, string[]>(); // seen-set member -> ids (one, barring a hash collision)
    if (dedupSec > 0 && batch.seen && batch.seen.length > 0) {
      const bySlice = new Map<number, string[]>();
      for (const s of batch.seen) {
        const member = seenMember(s.id);
        const ids = idsOf.get(member);
        if (ids) {
          if (!ids.includes(s.id)) ids.push(s.id);
          continue;
        }
        idsOf.set(member, [s.id]);
        const slice = dedupSlice(s.tsMs, dedupSec);
        let members = bySlice.get(slice);
        if (!members) bySlice.set(slice, (members = []));
        members.push(member);
      }
      payload.d = [];
      for (const [slice, members] of bySlice) {
        for (let i = 0; i < members.length; i += MAX_ARGS_PER_OP) payload.d.push([indexOf(k.seen(slice)), ...members.slice(i, i + MAX_ARGS_PER_OP)]);
      }
    }

    const pos = batch.position;
    const result = await this.redis.surgewatchApplyBatch(
      6 + dataKeys.length,
      k.offsets,
      k.series,
      k.firstSeen,
      k.totals,
      k.changed,
      k.changeSeq,
      ...dataKeys,
      pos?.partitionKey ?? '',
      pos?.expectedPrevOffset ?? '-1',
      pos?.lastOffset ?? '-1',
      batch.layout.retentionSec,
      batch.layout.detailTtlSec,
      samplesPerBucket,
      OFFSETS_TTL_SEC,
      // cjson turns empty tables into objects; the script only iterates, so either is fine.
      JSON.stringify(payload),
      batch.layout.hourlyTtlSec,
      dedupSec,
      textTtlSec,
    );
    if (result[0] === 2) return { status: 'duplicates', ids: (result[1] as string[]).flatMap((m) => idsOf.get(m) ?? []) };
    return result[0] === 1 ? { status: 'applied' } : { status: 'conflict', currentOffset: String(result[1]) };
  }

  async appliedOffset(pipeline: string, partitionKey: string): Promise<string> {
    return (await this.redis.hget(this.keys(pipeline).offsets, partitionKey)) ?? '-1';
  }

  async liveSeries(pipeline: string, sinceMs: number, limit: number): Promise<SeriesInfo[]> {
    const k = this.keys(pipeline);
    const flat = await this.redis.zrevrangebyscore(k.series, '+inf', sinceMs, 'WITHSCORES', 'LIMIT', 0, limit);
    const names: string[] = [];
    const last: number[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      names.push(flat[i]!);
      last.push(Number(flat[i + 1]));
    }
    if (names.length === 0) return [];
    const first = await this.redis.hmget(k.firstSeen, ...names);
    return names.map((series, i) => ({ series, lastBucketMs: last[i]!, firstSeenMs: first[i] ? Number(first[i]) : last[i]! }));
  }

  async changedSeries(pipeline: string, after: ChangeCursor | undefined): Promise<SeriesChanges> {
    const k = this.keys(pipeline);
    // One step: the seq and the series changed up to it (a batch applied meanwhile is in neither).
    const tx = this.redis.multi().hmget(k.changeSeq, 'epoch', 'seq');
    if (after) tx.zrangebyscore(k.changed, `(${after.seq}`, '+inf');
    const replies = (await tx.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    const state = replies[0]![1] as (string | null)[];
    const cursor = { epoch: state[0] ?? '', seq: Number(state[1] ?? 0) };
    if (after === undefined || after.epoch !== cursor.epoch) return { cursor, complete: false, series: [] };
    const names = replies[1]![1] as string[];
    if (names.length === 0) return { cursor, complete: true, series: [] };
    const info = (await this.redis.pipeline().zmscore(k.series, ...names).hmget(k.firstSeen, ...names).exec()) ?? [];
    for (const [err] of info) if (err) throw err;
    const [last, first] = info.map(([, v]) => v as (string | null)[]) as [(string | null)[], (string | null)[]];
    const series: SeriesInfo[] = [];
    names.forEach((name, i) => {
      // Pruned since it changed: gone from the index, as from liveSeries.
      if (last[i] === null) return;
      const lastBucketMs = Number(last[i]);
      series.push({ series: name, lastBucketMs, firstSeenMs: first[i] ? Number(first[i]) : lastBucketMs });
    });
    return { cursor, complete: true, series };
  }

  async readHeldSeries(pipeline: string): Promise<HeldSeriesSet | undefined> {
    const raw = await this.redis.hgetall(this.keys(pipeline).heldSeries);
    const epoch = raw[HELD_EPOCH];
    if (epoch === undefined) return undefined;
    const entries: HeldSeries[] = [];
    let unreadable = false;
    for (const series in raw) {
      if (series.startsWith('\0')) continue;
      const held = decodeHeld(series, raw[series]!);
      if (held) entries.push(held);
      else unreadable = true;
    }
    // A set with an entry it cannot read is not whole: a reader would miss that series.
    const seq = unreadable ? undefined : raw[HELD_SEQ];
    return { epoch, completeSeq: seq === undefined ? undefined : Number(seq), limit: Number(raw[HELD_LIMIT] ?? 0), entries };
  }

  async writeHeldSeries(pipeline: string, write: HeldSeriesWrite): Promise<void> {
    const key = this.keys(pipeline).heldSeries;
    // A few hundred entries a call, so that no call holds Redis up for long; the set is said
    // whole only by the last one, once every entry is in.
    const calls = Math.max(1, Math.ceil(write.entries.length / MAX_HELD_PER_WRITE), Math.ceil(write.forget.length / MAX_HELD_PER_WRITE));
    for (let c = 0; c < calls; c++) {
      const entries = write.entries.slice(c * MAX_HELD_PER_WRITE, (c + 1) * MAX_HELD_PER_WRITE);
      const forget = write.forget.slice(c * MAX_HELD_PER_WRITE, (c + 1) * MAX_HELD_PER_WRITE);
      const complete = c === calls - 1 ? write.completeAt : undefined;
      await this.redis.surgewatchWriteHeldSeries(
        1,
        key,
        write.epoch,
        complete ? complete.seq : '',
        complete ? complete.limit : 0,
        write.ttlSec * 1000,
        entries.length,
        ...entries.flatMap((h) => [h.info.series, encodeHeld(h)]),
        ...forget.flatMap((f) => [f.series, f.seq]),
      );
    }
  }

  async readCounts(pipeline: string, series: readonly string[], fromBucketMs: number, toBucketMs: number, bucketMs: number) {
    const buckets = Math.max(0, Math.floor((toBucketMs - fromBucketMs) / bucketMs) + 1);
    const out = new Map<string, number[]>();
    for (const [s, pairs] of await this.readNonZeroCounts(pipeline, series, fromBucketMs, toBucketMs, bucketMs)) out.set(s, denseCounts(pairs, buckets));
    return out;
  }

  async readNonZeroCounts(pipeline: string, series: readonly SeriesToRead[], fromBucketMs: number, toBucketMs: number, bucketMs: number) {
    const k = this.keys(pipeline);
    const chunkMs = bucketMs * BUCKETS_PER_CHUNK;
    // Only the chunks a series can hold counts in; the script's calls are split so that none
    // holds Redis up for long (each chunk is one HGETALL).
    const calls: { bounds: ReturnType<typeof readBounds>[]; keys: string[]; perSeries: number[] }[] = [];
    let call: (typeof calls)[number] | undefined;
    for (const s of series) {
      const bounds = readBounds(s, fromBucketMs, toBucketMs);
      if (!call || call.keys.length >= MAX_CHUNKS_PER_READ) calls.push((call = { bounds: [], keys: [], perSeries: [] }));
      let n = 0;
      if (bounds.fromMs <= bounds.toMs) {
        for (let c = chunkStart(bounds.fromMs, bucketMs); c <= bounds.toMs; c += chunkMs, n++) call.keys.push(k.counts(bounds.series, c));
      }
      call.bounds.push(bounds);
      call.perSeries.push(n);
    }
    const replies = await Promise.all(calls.map((c) => (c.keys.length === 0 ? c.perSeries.map(() => '') : this.redis.surgewatchReadCounts(c.keys.length, ...c.keys, ...c.perSeries))));
    const out = new Map<string, NonZeroCounts>();
    calls.forEach((c, i) => {
      c.bounds.forEach(({ series: s, fromMs, toMs }, j) => {
        const reply = replies[i]![j]!;
        const pairs: NonZeroCounts = [];
        if (reply !== '') {
          const parts = reply.split(' ');
          for (let f = 0; f + 1 < parts.length; f += 2) {
            const b = Number(parts[f]);
            const n = Number(parts[f + 1]);
            const at = (b - fromBucketMs) / bucketMs;
            if (b >= fromMs && b <= toMs && n !== 0 && Number.isInteger(at)) pairs.push(at, n);
          }
        }
        out.set(s, sortNonZero(pairs));
      });
    });
    return out;
  }

  async readDetails(
    pipeline: string,
    series: string,
    fromBucketMs: number,
    toBucketMs: number,
    bucketMs: number,
    limits: { topTerms: number; samples: number },
  ): Promise<WindowDetails> {
    const k = this.keys(pipeline);
    const buckets = bucketRange(fromBucketMs, toBucketMs, bucketMs);
    const termKeys = buckets.map((b) => k.terms(series, b));
    const pipe = this.redis.pipeline();
    pipe.pfcount(...buckets.map((b) => k.authors(series, b)));
    pipe.zunion(termKeys.length, ...termKeys, 'WITHSCORES');
    // Newest buckets first, so samples are the most recent signals.
    for (const b of [...buckets].reverse()) pipe.lrange(k.samples(series, b), 0, limits.samples - 1);
    const replies = (await pipe.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    let distinctAuthors: number | null = Number(replies[0]![1]);
    // No author in a window with signals: they carry no author ids (unknown, not zero).
    if (distinctAuthors === 0) {
      const counts = (await this.readCounts(pipeline, [series], fromBucketMs, toBucketMs, bucketMs)).get(series) ?? [];
      if (counts.some((n) => n > 0)) distinctAuthors = null;
    }
    const flat = replies[1]![1] as string[];
    const topTerms: { term: string; count: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) topTerms.push({ term: flat[i]!, count: Number(flat[i + 1]) });
    topTerms.sort((a, b) => b.count - a.count || a.term.localeCompare(b.term));
    const sampleIds: string[] = [];
    for (const [, ids] of replies.slice(2)) for (const id of ids as string[]) if (sampleIds.length < limits.samples) sampleIds.push(id);
    return { distinctAuthors, topTerms: topTerms.slice(0, limits.topTerms), sampleIds };
  }

  async readHourly(pipeline: string, series: readonly string[], fromHourMs: number, toHourMs: number): Promise<Map<string, number[]>> {
    const k = this.keys(pipeline);
    const hours = Math.max(0, Math.floor((toHourMs - fromHourMs) / HOUR_MS) + 1);
    const firstDay = Math.floor(fromHourMs / DAY_MS) * DAY_MS;
    const days: number[] = [];
    for (let d = firstDay; d <= toHourMs; d += DAY_MS) days.push(d);
    const pipe = this.redis.pipeline();
    for (const s of series) for (const d of days) pipe.hgetall(k.hourly(s, d));
    const replies = (await pipe.exec()) ?? [];
    const out = new Map<string, number[]>();
    series.forEach((s, i) => {
      const row = new Array<number>(hours).fill(0);
      days.forEach((d, j) => {
        const [err, h] = replies[i * days.length + j] ?? [null, {}];
        if (err) throw err;
        for (const [hour, n] of Object.entries(h as Record<string, string>)) {
          const at = (d + Number(hour) * HOUR_MS - fromHourMs) / HOUR_MS;
          if (at >= 0 && at < hours) row[at] = Number(n);
        }
      });
      out.set(s, row);
    });
    return out;
  }

  async totals(pipeline: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys(pipeline).totals);
    return Object.fromEntries(Object.entries(raw).map(([f, v]) => [f, Number(v)]));
  }

  async readSamples(pipeline: string, ids: readonly string[]): Promise<Map<string, StoredSample>> {
    const out = new Map<string, StoredSample>();
    if (ids.length === 0) return out;
    const k = this.keys(pipeline);
    const values = await this.redis.mget(ids.map((id) => k.sampleText(id)));
    values.forEach((v) => {
      if (v === null) return;
      const sample = JSON.parse(v) as StoredSample;
      out.set(sample.id, sample);
    });
    return out;
  }

  async keepSamples(pipeline: string, ids: readonly string[], ttlSec: number): Promise<void> {
    if (ids.length === 0 || ttlSec <= 0) return;
    const k = this.keys(pipeline);
    const pipe = this.redis.pipeline();
    // EXPIRE leaves a key that is gone alone: an expired text is not brought back.
    for (const id of ids) pipe.expire(k.sampleText(id), ttlSec);
    for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  }

  async pruneSeries(pipeline: string, beforeMs: number): Promise<number> {
    const k = this.keys(pipeline);
    const stale = await this.redis.zrangebyscore(k.series, '-inf', `(${beforeMs}`, 'LIMIT', 0, 10_000);
    if (stale.length === 0) return 0;
    await this.redis.multi().zrem(k.series, ...stale).hdel(k.firstSeen, ...stale).zrem(k.changed, ...stale).exec();
    return stale.length;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    // The Redis client belongs to the context, which closes it.
  }
}
