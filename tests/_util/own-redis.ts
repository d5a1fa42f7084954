import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, killAndWait } from './own-kafka.js';

/**
 * A redis-server owned by one test, on its own port: the test may stop it and start it again
 * (never the shared one). Without `persist`, stopping kills it and its data is gone (an outage
 * with no goodbye to its clients). With `persist`, stopping saves the data into a folder of its
 * own first, so that what was counted before an outage is there after it, as with a persistent
 * production Redis.
 */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private readonly dir: string | undefined;
  port = 0;

  constructor(opts: { persist?: boolean } = {}) {
    this.dir = opts.persist ? mkdtempSync(join(tmpdir(), 'surgewatch-redis-')) : undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (or starts again, on the same port and data; running already: nothing) and resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.child && this.child.exitCode === null) return; // running already
    this.port ||= await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(this.dir ? ['--dir', this.dir] : [])];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch (err) {
          if (i > 100 || child.exitCode !== null) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  /** Stops the server: killed, or with `persist` saved first. Resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!this.dir) return killAndWait(child);
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    const admin = new Redis(this.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    // SHUTDOWN SAVE writes dump.rdb even with no save points; the reply never comes.
    await admin.call('SHUTDOWN', 'SAVE').catch(() => undefined);
    admin.disconnect();
    await exited;
  }

  /** Stops it (if running) and removes its data. */
  async remove(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
