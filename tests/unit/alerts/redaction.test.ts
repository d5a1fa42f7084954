import { describe, expect, it } from 'vitest';
import { redactText } from '../../../src/alerts/redaction.js';

describe('redactText', () => {
  it.each([
    ['masks every word but the matched terms and function words', 'i want to kill myself tonight', ['kill myself'], 'i •••• to kill myself •••••••'],
    ['keeps a matched term readable whatever its evasion (case, leetspeak, width)', 'K1LL MYSELF now, Ｋｉｌｌ myself', ['kill myself'], 'K1LL MYSELF •••, Ｋｉｌｌ myself'],
    ['replaces handles', 'ask @jane_doe99 or @Bob.Smith', [], '••• [@user] or [@user]'],
    ['replaces links with or without a scheme', 'see https://bad.example.com/a?b=1 and www.x.org and evil.ru/path', [], '••• [link] and [link] and [link]'],
    ['replaces e-mail addresses (not read as a handle)', 'write john.doe+x@mail.example.com', [], '••••• [email]'],
    ['replaces phone numbers of 7+ digits, masks shorter numbers', 'call +1 (555) 123-4567 or 555 1234, room 12', [], '•••• [phone] or [phone], •••• ••'],
    ['keeps a matched hashtag, masks the others but their #', '#KMS #sunset #StopTheHate', ['#kms'], '#KMS #•••••• #•••••••••••'],
    ['keeps emoji and punctuation, and the shape of the text', 'no!!! 🔪🔪 ...why?', [], 'no!!! 🔪🔪 ...why?'],
    ['keeps nothing but function words without terms', 'Meet me at the bridge', [], '•••• me at the ••••••'],
  ])('%s', (_what, text, terms, expected) => {
    expect(redactText(text, terms)).toBe(expected);
  });

  it('never lets a handle, link, e-mail or phone number through, even when it contains a matched term', () => {
    const out = redactText('kill myself @killmyself killmyself.com kill@myself.org 5551234567', ['kill myself', 'killmyself']);
    expect(out).toBe('kill myself [@user] [link] [email] [phone]');
  });
});
