import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

/** SIGKILLs a child process this test started, and resolves once it is gone. */
export async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const LIBS = resolve('.services/kafka/libs');

/**
 * A single-node Kafka broker (KRaft) owned by one test, on its own ports and data folder, from
 * the jars `npm run services up` fetched: the test may stop and restart it. Never the shared one.
 */
export class OwnKafka {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'surgewatch-own-kafka-'));
  private readonly props = join(this.dir, 'server.properties');
  port = 0;

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  private java(mainClass: string, args: string[]): string[] {
    return ['-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.net.preferIPv4Stack=true', `-Dlog4j.configuration=file:${join(this.dir, 'log4j.properties')}`, '-cp', `${LIBS}/*`, mainClass, ...args];
  }

  /**
   * Formats a fresh data folder (the first time) and starts the broker; resolves once it answers.
   * Running already: nothing.
   */
  async start(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    if (!this.port) {
      this.port = await freePort();
      const controller = await freePort();
      writeFileSync(
        this.props,
        [
          'process.roles=broker,controller',
          'node.id=1',
          `controller.quorum.voters=1@127.0.0.1:${controller}`,
          `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${controller}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
          'controller.listener.names=CONTROLLER',
          'inter.broker.listener.name=PLAINTEXT',
          'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          `log.dirs=${join(this.dir, 'data')}`,
          'num.partitions=1',
          'offsets.topic.replication.factor=1',
          'offsets.topic.num.partitions=1',
          'transaction.state.log.replication.factor=1',
          'transaction.state.log.min.isr=1',
          'group.initial.rebalance.delay.ms=0',
          'auto.create.topics.enable=false',
          '',
        ].join('\n'),
      );
      writeFileSync(join(this.dir, 'log4j.properties'), 'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n');
      const id = randomBytes(16).toString('base64url').replace(/^-/, 'A');
      const r = spawnSync('java', this.java('kafka.tools.StorageTool', ['format', '-t', id, '-c', this.props]), { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`formatting the test broker failed: ${r.stderr}`);
    }
    this.child = spawn('java', this.java('kafka.Kafka', [this.props]), { stdio: 'ignore' });
    const kafka = new Kafka({ clientId: 'own-kafka-probe', brokers: this.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`the test broker exited (${this.child.exitCode})`);
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.describeCluster();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
  }

  /**
   * Stops the broker, by default with SIGKILL (an outage, not a goodbye); with SIGTERM it shuts
   * down cleanly (a rolling restart). Its data stays for a restart on the same port.
   */
  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (signal === 'SIGTERM' && child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await killAndWait(child);
    this.child = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
