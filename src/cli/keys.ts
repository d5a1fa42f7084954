import type { Writable } from 'node:stream';
import { generateKey, hashedEntry, roles, type Role } from '../config/api-keys.js';
import { UsageError } from './commands.js';

/**
 * `surgewatch keys new --name NAME --role ROLE`: a new API key, as one JSON line
 * {"name","role","key","entry"}. `entry` holds the key's hash, ready for SURGEWATCH_API_KEYS;
 * hand `key` to its holder, it is not stored anywhere.
 */
export function keysCommand(sub: string | undefined, extra: readonly string[], opts: { name?: string | undefined; role?: string | undefined }, io: { stdout: Writable }): number {
  if (sub !== 'new') throw new UsageError(sub ? `unknown command "keys ${sub}"` : 'keys needs a subcommand: new');
  if (extra.length > 0) throw new UsageError(`keys new takes no arguments (got ${extra.join(' ')})`);
  if (!opts.name || !/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(opts.name)) throw new UsageError('keys new needs --name: 1-64 letters, digits or _.@-');
  if (!opts.role || !(roles as readonly string[]).includes(opts.role)) throw new UsageError(`keys new needs --role: one of ${roles.join(', ')}`);
  const key = generateKey();
  io.stdout.write(`${JSON.stringify({ name: opts.name, role: opts.role, key, entry: hashedEntry(opts.name, opts.role as Role, key) })}\n`);
  return 0;
}
