import { describe, expect, it } from 'vitest';
import { decodeEventId, encodeEventId } from '../../../src/api/alert-detail-routes.js';

describe('stream event ids', () => {
  it('round-trip the position in every pipeline', () => {
    const cursor = { 'high-harm': '1764572400000-0', scams: '0-0', 'x-1': '0-17' };
    const id = encodeEventId(cursor);
    expect(id).toBe('high-harm@1764572400000-0,scams@0-0,x-1@0-17');
    expect(decodeEventId(id)).toEqual(cursor);
  });

  it.each(['', 'garbage', 'high-harm@', '@1-0', 'High@1-0', 'a@1-0,b@x', 'a@1', 'a@1-0;b@2-0', `a@${'9'.repeat(21)}-0`])('refuses %j', (id) => {
    expect(decodeEventId(id)).toBeUndefined();
  });
});
