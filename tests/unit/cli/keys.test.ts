import { describe, expect, it } from 'vitest';
import { ApiKeyring } from '../../../src/api/auth.js';
import { UsageError } from '../../../src/cli/commands.js';
import { keysCommand } from '../../../src/cli/keys.js';
import { parseApiKeys } from '../../../src/config/api-keys.js';
import { captureIo } from '../../_util/capture-io.js';

describe('surgewatch keys new', () => {
  it('prints a new key and an entry that holds only its hash, which then admits that key and no other', () => {
    const { io, out } = captureIo();
    expect(keysCommand('new', [], { name: 'alice', role: 'analyst' }, io)).toBe(0);
    const line = JSON.parse(out()[0]!) as { name: string; role: string; key: string; entry: string };
    expect(line).toMatchObject({ name: 'alice', role: 'analyst' });
    expect(line.entry).not.toContain(line.key);
    const { keys, problems } = parseApiKeys(line.entry, '.');
    expect(problems).toEqual([]);
    const ring = new ApiKeyring(keys);
    expect(ring.verify(line.key)).toEqual({ name: 'alice', role: 'analyst' });
    expect(ring.verify(`${line.key}x`)).toBeUndefined();
  });

  it.each([
    [{ role: 'viewer' }, /--name/],
    [{ name: 'bob', role: 'root' }, /--role: one of viewer, analyst, editor, admin/],
    [{ name: 'bad name!', role: 'viewer' }, /--name/],
  ])('refuses %o', (opts, message) => {
    const { io } = captureIo();
    expect(() => keysCommand('new', [], opts, io)).toThrow(UsageError);
    expect(() => keysCommand('new', [], opts, io)).toThrow(message);
  });
});
