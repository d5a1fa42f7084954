import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header that carries a webhook's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'X-Surgewatch-Signature';

/** Receivers should refuse signatures older (or newer) than this by default: replays. */
export const DEFAULT_TOLERANCE_SEC = 300;

/** HMAC-SHA256 over `${timestamp}.${body}`, hex. */
export function signatureOf(secret: string, timestampSec: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, timestampSec: number, body: string): string {
  return `t=${timestampSec},v1=${signatureOf(secret, timestampSec, body)}`;
}

export type SignatureCheck = { ok: true; timestampSec: number } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

/**
 * What a receiver does with a delivery: parse the header, refuse a timestamp outside the
 * tolerance window, recompute the HMAC over the raw body and compare in constant time. Several
 * v1 values are accepted (a sender rotating its secret may sign with both).
 */
export function verifySignature(secret: string, header: string | undefined, body: string, nowSec: number, toleranceSec = DEFAULT_TOLERANCE_SEC): SignatureCheck {
  if (!header) return { ok: false, reason: 'malformed' };
  let timestampSec: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestampSec = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (timestampSec === undefined || candidates.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowSec - timestampSec) > toleranceSec) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(signatureOf(secret, timestampSec, body), 'hex');
  const ok = candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
  return ok ? { ok: true, timestampSec } : { ok: false, reason: 'mismatch' };
}
