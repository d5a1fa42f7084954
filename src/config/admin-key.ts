import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateKey, hashKey, MIN_KEY_LENGTH, type ApiKeyEntry } from './api-keys.js';

/**
 * The admin key of embedded mode: read from `file` when a previous start left one there, else
 * generated and written (owner-only permissions). `created` says whether this call made it.
 */
export function ensureAdminKey(file: string): { entry: ApiKeyEntry; key: string; created: boolean } {
  let key: string | undefined;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const created = key === undefined || key.length < MIN_KEY_LENGTH;
  if (created) {
    key = generateKey();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { entry: { name: 'admin', role: 'admin', sha256: hashKey(key!) }, key: key!, created };
}
