import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../../src/alerts/webhook-delivery.js';
import { slackMessage } from '../../../src/alerts/webhook-payload.js';
import { signatureHeader, verifySignature } from '../../../src/alerts/webhook-signature.js';
import { makeAlert } from '../../_util/alerts.js';

const SECRET = 'whsec-unit-0123456789abcdef';
const NOW = 1_780_000_000;
const BODY = '{"event":"opened"}';

describe('webhook signature', () => {
  it('is an HMAC-SHA256 over "<timestamp>.<body>" that a receiver verifies within the tolerance', () => {
    const header = signatureHeader(SECRET, NOW, BODY);
    expect(header).toBe(`t=${NOW},v1=${createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex')}`);
    expect(verifySignature(SECRET, header, BODY, NOW + 299)).toEqual({ ok: true, timestampSec: NOW });
  });

  it.each([
    ['a replay past the tolerance', signatureHeader(SECRET, NOW, BODY), BODY, NOW + 301, 'stale'],
    ['a timestamp far in the future', signatureHeader(SECRET, NOW + 1000, BODY), BODY, NOW, 'stale'],
    ['a changed body', signatureHeader(SECRET, NOW, BODY), `${BODY} `, NOW, 'mismatch'],
    ['another secret', signatureHeader('another-secret-0123456789', NOW, BODY), BODY, NOW, 'mismatch'],
    ['a changed timestamp', signatureHeader(SECRET, NOW, BODY).replace(`t=${NOW}`, `t=${NOW + 1}`), BODY, NOW, 'mismatch'],
    ['no header', undefined, BODY, NOW, 'malformed'],
    ['no v1', `t=${NOW}`, BODY, NOW, 'malformed'],
    ['garbage', 'sha256=abc', BODY, NOW, 'malformed'],
  ])('refuses %s', (_name, header, body, now, reason) => {
    expect(verifySignature(SECRET, header, body, now)).toEqual({ ok: false, reason });
  });

  it('accepts any one matching v1 (a sender rotating its secret)', () => {
    const old = signatureHeader('old-secret-0123456789abcd', NOW, BODY).split(',')[1]!;
    expect(verifySignature(SECRET, `${signatureHeader(SECRET, NOW, BODY)},${old}`, BODY, NOW).ok).toBe(true);
  });
});

describe('retry backoff', () => {
  const backoff = { initialMs: 1000, maxMs: 60_000 };
  it('doubles per failed attempt up to the cap, the jitter taking it between half and all of it', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffMs(n, backoff, () => 1))).toEqual([1000, 2000, 4000, 8000, 60_000]);
    expect([1, 2, 3, 4, 10].map((n) => backoffMs(n, backoff, () => 0))).toEqual([500, 1000, 2000, 4000, 30_000]);
    expect(backoffMs(3, backoff, () => 0.5)).toBe(3000);
  });
});

describe('Slack message', () => {
  it('escapes Slack markup in what the alert carries and stays within Slack limits', () => {
    const alert = { ...makeAlert({ series: 'self-harm|region=US-TX' }), topic_name: 'x'.repeat(400), summary: 'a <b> & <!channel> '.repeat(400) };
    const m = slackMessage({ type: 'opened', alert });
    const section = m.blocks[1] as { text: { text: string } };
    expect(section.text.text).not.toMatch(/<|>/);
    expect(section.text.text).toContain('&lt;!channel&gt;');
    expect(section.text.text.length).toBeLessThanOrEqual(3000);
    expect((m.blocks[0] as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(150);
    expect(m.text.length).toBeLessThanOrEqual(3000);
    expect(m.text).not.toMatch(/<|>/);
  });
});
