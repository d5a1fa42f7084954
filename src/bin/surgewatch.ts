#!/usr/bin/env node
import { loadConfig } from '../config/load.js';
import { AppContext } from '../context.js';
import { ConfigError } from '../shared/errors.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`surgewatch: ${err.message}\n`);
      process.exitCode = 78; // EX_CONFIG
      return;
    }
    throw err;
  }
  const ctx = AppContext.fromConfig(config);
  const log = ctx.logger;
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down');
    const graceMs = config.env.SURGEWATCH_SHUTDOWN_GRACE_MS;
    setTimeout(() => {
      log.error({ graceMs }, 'shutdown took longer than SURGEWATCH_SHUTDOWN_GRACE_MS; forcing exit');
      process.exit(1);
    }, graceMs).unref();
    void ctx.close().then(() => {
      log.info('stopped');
      // A step left behind past the grace period (e.g. a client still waiting for a dead server)
      // would keep the process up: it ends now with the exit code it has.
      setTimeout(() => process.exit(), 20).unref();
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  try {
    await ctx.start();
  } catch (err) {
    log.error({ err }, 'start failed');
    process.exitCode = 1;
    await ctx.close();
    return;
  }
  const url = ctx.apiUrl();
  if (ctx.adminKey?.created) {
    // Shown once, on the terminal, never through the logger: logs are shipped and kept.
    process.stderr.write(
      `\nsurgewatch: created an admin API key (shown once; kept in ${ctx.adminKey.file}, git-ignored):\n\n  ${ctx.adminKey.created}\n\n` +
        `  curl -H "Authorization: Bearer $(cat ${ctx.adminKey.file})" ${url}/v1/alerts\n\n` +
        `  dashboard: ${url}/ (sign in with this key)\n\n`,
    );
  }
  if (config.mode === 'embedded') {
    log.info(
      { mode: 'embedded', role: ctx.role, pipelines: ctx.runtimes.map((r) => r.config.id), api: url },
      `surgewatch running in EMBEDDED mode (no KAFKA_BROKERS/REDIS_URL): in-memory windows, bundled sample stream. Dashboard: ${url}/ Alerts: ${url}/v1/alerts` +
        (ctx.adminKey ? ` (with the admin key in ${ctx.adminKey.file})` : ''),
    );
  } else {
    log.info(
      { mode: 'service', role: ctx.role, pipelines: ctx.runtimes.map((r) => r.config.id), api: url, kafka: config.env.KAFKA_BROKERS },
      'surgewatch running in SERVICE mode (Kafka + Redis)',
    );
  }
}

void main().catch((err) => {
  process.stderr.write(`surgewatch: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
