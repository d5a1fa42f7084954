import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/shared/errors.js';

const topic = (id: string, severity = 'high') => `id: ${id}\nname: ${id}\nseverity: ${severity}\nterms: [some phrase]\n`;
const SECRET = 'whsec-0123456789abcdef';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(webhooks: string, extra: Record<string, string> = {}): string {
  const cwd = mkdtempSync(join(tmpdir(), 'surgewatch-webhooks-'));
  dirs.push(cwd);
  const files: Record<string, string> = {
    'config/topics/self-harm.yaml': topic('self-harm', 'critical'),
    'config/topics/spam.yaml': topic('spam', 'low'),
    'pipelines/main.yaml': `id: main\nalerts:\n  webhooks:\n${webhooks}`,
    ...extra,
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(cwd, path)), { recursive: true });
    writeFileSync(join(cwd, path), text);
  }
  return cwd;
}

function problemsOf(cwd: string, env: Record<string, string> = {}): { path: string; message: string }[] {
  try {
    loadConfig({ env, cwd });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => ({ path: p.path, message: p.message }));
  }
  throw new Error('expected a ConfigError');
}

describe('webhook routes in pipeline files', () => {
  it('reads routes with their defaults, the URL and the secret from the environment or a file', () => {
    const cwd = setup(
      [
        '    - id: trust-safety',
        '      url: https://hooks.example.org/surgewatch',
        '      secret: { env: TS_WEBHOOK_SECRET }',
        '    - id: policy-slack',
        '      format: slack',
        '      url: { file: ../secrets/slack-url }',
        '      topics: [self-harm]',
        '      minSeverity: high',
        '      kinds: [spike]',
        '      maxAttempts: 3',
        '      backoff: { initialMs: 10, maxMs: 100 }',
        '',
      ].join('\n'),
      { 'secrets/slack-url': 'https://hooks.slack.com/services/T000/B000/XXXX\n' },
    );
    const config = loadConfig({ env: { TS_WEBHOOK_SECRET: SECRET }, cwd });
    expect(config.webhooks).toHaveLength(2);
    const [json, slack] = config.webhooks;
    expect(json).toMatchObject({ pipeline: 'main', id: 'trust-safety', format: 'json', topics: 'all', minSeverity: 'low', kinds: ['spike', 'emerging_term'], events: ['opened', 'updated', 'resolved'], maxAttempts: 8, timeoutMs: 5000 });
    expect(json!.url.reveal()).toBe('https://hooks.example.org/surgewatch');
    expect(json!.secret!.reveal()).toBe(SECRET);
    expect(slack).toMatchObject({ id: 'policy-slack', format: 'slack', topics: ['self-harm'], minSeverity: 'high', kinds: ['spike'], maxAttempts: 3, backoff: { initialMs: 10, maxMs: 100 } });
    expect(slack!.url.reveal()).toBe('https://hooks.slack.com/services/T000/B000/XXXX');
    expect(slack!.secret).toBeUndefined();
  });

  it('never prints a URL or a secret, whether logged, inspected or serialized', () => {
    const cwd = setup(['    - id: a', '      url: { env: HOOK_URL }', '      secret: { env: HOOK_SECRET }', ''].join('\n'));
    const config = loadConfig({ env: { HOOK_SECRET: SECRET, HOOK_URL: 'https://example.org/hook?token=abc123' }, cwd });
    for (const text of [JSON.stringify(config.webhooks), inspect(config.webhooks, { depth: 10 }), `${config.webhooks[0]!.secret}`]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('abc123');
    }
    expect(JSON.stringify(config.webhooks[0])).toContain('[redacted]');
  });

  it('refuses a secret written inline, and says how to give it', () => {
    const problems = problemsOf(setup(['    - id: a', '      url: https://example.org/hook', `      secret: ${SECRET}`, ''].join('\n')));
    expect(problems).toEqual([{ path: 'alerts.webhooks.0.secret', message: expect.stringContaining('must not be written inline: use { env: VARIABLE_NAME } or { file:') }]);
  });

  it('lists every problem of every route at once, with its path', () => {
    const cwd = setup(
      [
        '    - id: no-secret', // json needs a secret
        '      url: https://example.org/a',
        '    - id: bad',
        '      url: ftp://example.org/b',
        '      format: xml',
        '      minSeverity: severe',
        '      kinds: [trend]',
        '      secret: { env: SECRET_B }',
        '      extra: 1',
        '    - id: no-secret',
        '      url: https://example.org/c',
        '      format: slack',
        '      backoff: { initialMs: 1000, maxMs: 10 }',
        '',
      ].join('\n'),
    );
    const paths = problemsOf(cwd).map((p) => p.path).sort();
    expect(paths).toEqual([
      'alerts.webhooks.0.secret',
      'alerts.webhooks.1',
      'alerts.webhooks.1.format',
      'alerts.webhooks.1.kinds.0',
      'alerts.webhooks.1.minSeverity',
      'alerts.webhooks.1.url',
      'alerts.webhooks.2.backoff.maxMs',
      'alerts.webhooks.2.id',
    ]);
  });

  it('reports an unset variable, an unreadable or short secret, a referenced URL that is not one, and an unknown topic', () => {
    const cwd = setup(
      [
        '    - id: a',
        '      url: { env: URL_A }',
        '      secret: { env: MISSING_SECRET }',
        '    - id: b',
        '      url: https://example.org/b',
        '      secret: { file: /nonexistent/surgewatch-secret }',
        '    - id: c',
        '      url: https://example.org/c',
        '      secret: { env: SHORT }',
        '      topics: [self-harm, no-such-topic]',
        '',
      ].join('\n'),
    );
    const problems = problemsOf(cwd, { URL_A: 'not a url', SHORT: 'short' });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'alerts.webhooks.0.url', message: 'the referenced value must be an http:// or https:// URL' },
        { path: 'alerts.webhooks.0.secret', message: 'environment variable MISSING_SECRET is not set' },
        { path: 'alerts.webhooks.1.secret', message: 'cannot read secret file /nonexistent/surgewatch-secret: ENOENT' },
        { path: 'alerts.webhooks.2.secret', message: 'the referenced secret must be at least 16 characters' },
        { path: 'alerts.webhooks.2.topics.1', message: 'unknown topic "no-such-topic"' },
      ]),
    );
    expect(problems).toHaveLength(5);
    expect(JSON.stringify(problems)).not.toContain('short"');
  });
});
