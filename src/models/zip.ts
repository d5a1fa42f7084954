/**
 * A small zip reader, enough to take named entries out of a jar: the central directory, stored
 * and deflated entries (node:zlib), each checked against its size and CRC-32. No zip64, no
 * encryption: a model jar needs neither, and either is reported rather than misread.
 */
import { readFile } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import { SurgewatchError } from '../shared/errors.js';

/** The archive is not a zip, is truncated or corrupt, or lacks an entry asked for. */
export class ArchiveError extends SurgewatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ARCHIVE_INVALID', message, options);
    this.name = 'ArchiveError';
  }
}

/** One file of the archive, as its central directory describes it. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** Reads the central directory of a zip held in memory. `label` names the archive in errors. */
export function readZipEntries(zip: Buffer, label = 'archive'): Map<string, ZipEntry> {
  const eocd = findEndOfCentralDirectory(zip, label);
  const count = zip.readUInt16LE(eocd + 10);
  const cdSize = zip.readUInt32LE(eocd + 12);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff || (eocd >= 20 && zip.readUInt32LE(eocd - 20) === ZIP64_LOCATOR))
    throw new ArchiveError(`${label} is a zip64 archive, which this reader does not support`);
  if (zip.readUInt16LE(eocd + 4) !== 0 || zip.readUInt16LE(eocd + 6) !== 0) throw new ArchiveError(`${label} spans several disks, which this reader does not support`);
  if (cdOffset + cdSize > eocd) throw new ArchiveError(`${label} is truncated or corrupt: its central directory (${cdSize} bytes at ${cdOffset}) runs past the end of the data`);

  const entries = new Map<string, ZipEntry>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || zip.readUInt32LE(at) !== CENTRAL) throw new ArchiveError(`${label} is corrupt: central directory record ${i + 1} of ${count} is damaged`);
    const flags = zip.readUInt16LE(at + 8);
    const nameLength = zip.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    if (next > cdOffset + cdSize) throw new ArchiveError(`${label} is corrupt: central directory record ${i + 1} of ${count} runs past the directory`);
    const name = zip.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, at + 46 + nameLength);
    if (flags & 0x1) throw new ArchiveError(`${label}: entry "${name}" is encrypted`);
    if (!entries.has(name)) {
      entries.set(name, {
        name,
        method: zip.readUInt16LE(at + 10),
        crc32: zip.readUInt32LE(at + 16),
        compressedSize: zip.readUInt32LE(at + 20),
        size: zip.readUInt32LE(at + 24),
        localHeaderOffset: zip.readUInt32LE(at + 42),
      });
    }
    at = next;
  }
  return entries;
}

function findEndOfCentralDirectory(zip: Buffer, label: string): number {
  const last = zip.length - EOCD_SIZE;
  for (let at = last; at >= 0 && at >= last - MAX_COMMENT; at--) {
    // The comment length must reach exactly to the end: a stray signature in the data does not count.
    if (zip.readUInt32LE(at) === EOCD && at + EOCD_SIZE + zip.readUInt16LE(at + 20) === zip.length) return at;
  }
  throw new ArchiveError(`${label} is not a zip archive, or is truncated: no end-of-central-directory record (${zip.length} bytes)`);
}

/** The bytes of one entry, inflated if need be, checked against its size and CRC-32. */
export function readZipEntry(zip: Buffer, entry: ZipEntry, label = 'archive'): Buffer {
  const at = entry.localHeaderOffset;
  if (at + 30 > zip.length || zip.readUInt32LE(at) !== LOCAL) throw new ArchiveError(`${label} is truncated or corrupt: the local header of "${entry.name}" is missing or damaged`);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const end = start + entry.compressedSize;
  if (end > zip.length) throw new ArchiveError(`${label} is truncated: "${entry.name}" needs ${entry.compressedSize} bytes at ${start}, the archive has ${zip.length}`);
  const raw = zip.subarray(start, end);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (err) {
      throw new ArchiveError(`${label} is corrupt: "${entry.name}" does not inflate (${(err as Error).message})`, { cause: err });
    }
  } else throw new ArchiveError(`${label}: "${entry.name}" uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
  if (data.length !== entry.size) throw new ArchiveError(`${label} is corrupt: "${entry.name}" is ${data.length} bytes, its directory says ${entry.size}`);
  const crc = crc32(data) >>> 0;
  if (crc !== entry.crc32) throw new ArchiveError(`${label} is corrupt: "${entry.name}" has CRC-32 ${hex(crc)}, its directory says ${hex(entry.crc32)}`);
  return data;
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

/**
 * Reads a zip file and returns the named entries. A missing entry is an error that lists what
 * the archive holds, so that a wrong name in the manifest is quick to fix.
 */
export async function extractZipEntries(file: string, names: readonly string[]): Promise<Map<string, Buffer>> {
  let zip: Buffer;
  try {
    zip = await readFile(file);
  } catch (err) {
    throw new ArchiveError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const entries = readZipEntries(zip, file);
  const out = new Map<string, Buffer>();
  for (const name of names) {
    const entry = entries.get(name);
    if (!entry) {
      const files = [...entries.keys()].filter((n) => !n.endsWith('/') && !n.startsWith('META-INF/') && !n.endsWith('.class'));
      throw new ArchiveError(`${file} has no entry "${name}" (it holds ${files.length > 0 ? files.slice(0, 20).join(', ') : 'no data files'})`);
    }
    out.set(name, readZipEntry(zip, entry, file));
  }
  return out;
}
