import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigProblem } from '../shared/errors.js';

/** Roles, weakest first: each may do what the ones before it may. */
export const roles = ['viewer', 'analyst', 'editor', 'admin'] as const;
export type Role = (typeof roles)[number];

/** An API key as kept in memory: its name, its role and the SHA-256 of the key, never the key. */
export interface ApiKeyEntry {
  name: string;
  role: Role;
  sha256: Buffer;
}

/** Raw keys must be long enough that a plain SHA-256 is a safe way to store them. */
export const MIN_KEY_LENGTH = 24;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const RAW_KEY = /^[A-Za-z0-9_\-.~+/=]+$/;
const HASHED = /^sha256:([0-9a-f]{64})$/;

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** A new random key (256 bits), prefixed so that secret scanners can recognise it. */
export function generateKey(): string {
  return `sw_${randomBytes(32).toString('base64url')}`;
}

/** The line for a key in SURGEWATCH_API_KEYS that holds its hash rather than the key itself. */
export function hashedEntry(name: string, role: Role, key: string): string {
  return `${name}:${role}:sha256:${hashKey(key).toString('hex')}`;
}

/**
 * Parses SURGEWATCH_API_KEYS: entries `name:role:key` or `name:role:sha256:<hex>`, separated by
 * commas or new lines; `#` starts a comment. The value may also be the path of a file holding
 * such entries. Problems never quote a key.
 */
export function parseApiKeys(value: string, cwd: string): { keys: ApiKeyEntry[]; problems: ConfigProblem[] } {
  const path = resolve(cwd, value);
  const isFile = !value.includes(':') && !value.includes(',') && !value.includes('\n');
  let text = value;
  let source = 'env SURGEWATCH_API_KEYS';
  if (isFile) {
    if (!existsSync(path)) return { keys: [], problems: [{ source: 'env', path: 'SURGEWATCH_API_KEYS', message: `is neither name:role:key entries nor an existing file (${path})` }] };
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      return { keys: [], problems: [{ source: path, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }] };
    }
    source = path;
  }
  const keys: ApiKeyEntry[] = [];
  const problems: ConfigProblem[] = [];
  const names = new Set<string>();
  const entries = text
    .split(/[\n,]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .map((entry, i) => ({ entry, n: i + 1 }))
    .filter(({ entry }) => entry !== '');
  for (const { entry, n } of entries) {
    const at = `entry ${n}`;
    const first = entry.indexOf(':');
    const second = entry.indexOf(':', first + 1);
    if (first < 0 || second < 0) {
      problems.push({ source, path: at, message: 'must be name:role:key or name:role:sha256:<hex>' });
      continue;
    }
    const name = entry.slice(0, first);
    const role = entry.slice(first + 1, second);
    const secret = entry.slice(second + 1);
    if (!NAME.test(name)) problems.push({ source, path: at, message: 'the name must be 1-64 letters, digits or _.@-' });
    else if (names.has(name)) problems.push({ source, path: at, message: `duplicate key name "${name}"` });
    if (!(roles as readonly string[]).includes(role)) problems.push({ source, path: at, message: `unknown role (one of ${roles.join(', ')})` });
    const hashed = HASHED.exec(secret);
    if (!hashed && secret.startsWith('sha256:')) problems.push({ source, path: at, message: 'a hashed key is sha256: followed by 64 lowercase hex digits' });
    else if (!hashed && (secret.length < MIN_KEY_LENGTH || !RAW_KEY.test(secret)))
      problems.push({ source, path: at, message: `a key must be at least ${MIN_KEY_LENGTH} characters of A-Z a-z 0-9 _-.~+/= (generate one with: openssl rand -base64 32)` });
    if (problems.some((p) => p.path === at)) continue;
    names.add(name);
    keys.push({ name, role: role as Role, sha256: hashed ? Buffer.from(hashed[1]!, 'hex') : hashKey(secret) });
  }
  if (entries.length === 0) problems.push({ source, path: '', message: 'holds no keys' });
  return { keys, problems };
}
