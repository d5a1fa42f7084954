import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { AlertPublisher, AlertStore } from './alerts/alert-store.js';
import { MemoryAlertStore } from './alerts/memory-alert-store.js';
import { RedisAlertStore } from './alerts/redis-alert-store.js';
import { buildApi, type ReadinessCheck } from './api/app.js';
import type { AppConfig } from './config/load.js';
import { TopicWatcher } from './config/topic-watcher.js';
import { createKafka, ensureTopics } from './ingest/kafka-client.js';
import { KafkaAlertPublisher, KafkaDeadLetterSink, KafkaProducerHandle } from './ingest/kafka-sinks.js';
import { KafkaSignalSource } from './ingest/kafka-signal-source.js';
import { MemoryListChannel, type ListChannel } from './lists/list-channel.js';
import { RedisListChannel } from './lists/redis-list-channel.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createLogger, type Logger } from './shared/logger.js';
import { closeOnce } from './shared/once.js';
import { createKeys } from './windows/keys.js';
import { MemoryLease, RedisLease, type Lease } from './windows/lease.js';
import { MemoryWindowStore } from './windows/memory-window-store.js';
import { RedisWindowStore } from './windows/redis-window-store.js';
import type { WindowStore } from './windows/window-store.js';
import { BatchApplier } from './worker/batch-applier.js';
import { DetectionTicker } from './worker/detection-ticker.js';
import { ListSync } from './worker/list-sync.js';
import { LogAlertPublisher, MemoryDeadLetterSink } from './worker/local-sinks.js';
import { buildPipelineRuntime, type PipelineRuntime } from './worker/pipeline-runtime.js';
import { SampleStreamSource } from './worker/sample-stream.js';
import type { DeadLetterSink, SignalSource } from './worker/source.js';
import { indexLists, semanticMetrics, setupSemantic, type SemanticSetup } from './worker/semantic-setup.js';
import { authorMetrics } from './worker/process-records.js';

/** What tests may replace when building a context. */
export interface ContextOverrides {
  clock?: Clock;
  logger?: Logger;
  /** Listen on this port instead of HTTP_PORT (0 = any free port). */
  httpPort?: number;
  /** Per-pipeline source instead of Kafka or the sample stream. */
  sourceFor?: (runtime: PipelineRuntime) => SignalSource;
  /** Watch the topics folder for changes (default true). */
  watchTopics?: boolean;
}

/** Every dependency, built once; `start()` begins I/O, `close()` ends it in reverse order. */
export class AppContext {
  readonly runtimes: PipelineRuntime[];
  api: FastifyInstance | undefined;
  readonly appliers: BatchApplier[] = [];
  readonly sources: SignalSource[] = [];
  ticker: DetectionTicker | undefined;
  /** Where topic lists are published and followed (Redis in service mode, memory in embedded). */
  lists!: ListChannel;
  /** Keeps this process's pipelines on the list set in force (worker roles only). */
  listSync: ListSync | undefined;
  topicWatcher: TopicWatcher | undefined;
  /** Embedding pools and caches (worker roles with semantic scoring on). */
  semantic: SemanticSetup | undefined;
  private readonly abort = new AbortController();
  private readonly closers: (() => Promise<unknown>)[] = [];
  private redis: Redis | undefined;
  private kafka: Kafka | undefined;
  private producer: KafkaProducerHandle | undefined;
  windows!: WindowStore;
  alerts!: AlertStore;
  lease!: Lease;
  publisher!: AlertPublisher;
  deadLetters!: DeadLetterSink;
  readonly logger: Logger;
  readonly clock: Clock;

  private constructor(
    readonly config: AppConfig,
    private readonly overrides: ContextOverrides,
  ) {
    this.logger = overrides.logger ?? createLogger(config.env.LOG_LEVEL);
    this.clock = overrides.clock ?? systemClock;
    this.runtimes = config.pipelines.map((p) => buildPipelineRuntime(p, config.topics));
  }

  static fromConfig(config: AppConfig, overrides: ContextOverrides = {}): AppContext {
    const ctx = new AppContext(config, overrides);
    ctx.build();
    return ctx;
  }

  get role() {
    return this.config.env.SURGEWATCH_ROLE;
  }

  private build(): void {
    const { env } = this.config;
    const checks: Record<string, ReadinessCheck> = {};
    if (this.config.mode === 'service') {
      this.redis = new Redis(env.REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 2, commandTimeout: 10_000, connectionName: 'surgewatch' });
      this.kafka = createKafka({ brokers: env.KAFKA_BROKERS!, clientId: env.KAFKA_CLIENT_ID }, this.logger);
      this.producer = new KafkaProducerHandle(this.kafka);
      const retention = new Map(this.runtimes.map((r) => [r.config.id, r.config.alerts.retentionDays * 86_400]));
      this.windows = new RedisWindowStore(this.redis, env.REDIS_KEY_PREFIX);
      this.alerts = new RedisAlertStore(this.redis, env.REDIS_KEY_PREFIX, this.runtimes.map((r) => r.config.id), retention);
      const redis = this.redis;
      this.lease = new RedisLease(redis, (name) => createKeys(env.REDIS_KEY_PREFIX, name.split(':')[1] ?? name).lease(name));
      this.publisher = new KafkaAlertPublisher(this.producer);
      this.deadLetters = new KafkaDeadLetterSink(this.producer, env.KAFKA_DEAD_LETTER_TOPIC);
      this.lists = new RedisListChannel(redis, env.REDIS_KEY_PREFIX, { clock: this.clock });
      checks.redis = async () => void (await redis.ping());
    } else {
      this.windows = new MemoryWindowStore();
      this.alerts = new MemoryAlertStore();
      this.lease = new MemoryLease(this.clock);
      this.publisher = new LogAlertPublisher(this.logger.child({ component: 'alerts' }));
      this.deadLetters = new MemoryDeadLetterSink(this.logger.child({ component: 'dead-letters' }));
      this.lists = new MemoryListChannel({ clock: this.clock });
    }

    if (this.role !== 'api') {
      const listSync = new ListSync({
        channel: this.lists,
        runtimes: this.runtimes,
        clock: this.clock,
        logger: this.logger.child({ component: 'lists' }),
        source: `files:${this.config.topicsDir}`,
      });
      this.listSync = listSync;
      if (this.overrides.watchTopics !== false) {
        this.topicWatcher = new TopicWatcher({
          topicsDir: this.config.topicsDir,
          references: this.config.topicReferences,
          logger: this.logger.child({ component: 'lists' }),
          onTopics: (topics) => listSync.publishTopics(topics),
          onProblems: (problems) => listSync.reportProblems(problems),
        });
      }
      for (const rt of this.runtimes) {
        const applier = new BatchApplier(rt, {
          store: this.windows,
          deadLetters: this.deadLetters,
          authorHashKey: this.config.authorHashKey,
          clock: this.clock,
          logger: this.logger.child({ component: 'worker', pipeline: rt.config.id }),
          signal: this.abort.signal,
        });
        this.appliers.push(applier);
        this.sources.push(this.sourceFor(rt, applier));
      }
      this.ticker = new DetectionTicker({
        runtimes: this.runtimes,
        windows: this.windows,
        alerts: this.alerts,
        publisher: this.publisher,
        lease: this.lease,
        clock: this.clock,
        logger: this.logger.child({ component: 'detect' }),
      });
      if (this.kafka) {
        const sources = this.sources;
        checks.kafka = async () => {
          for (const s of sources) await s.ping();
        };
      }
    }
    if (this.role !== 'worker') {
      if (this.kafka && !checks.kafka) {
        const admin = this.kafka.admin();
        let connected: Promise<void> | undefined;
        checks.kafka = async () => {
          await (connected ??= admin.connect());
          await admin.describeCluster();
        };
        this.closers.push(() => (connected ? admin.disconnect() : Promise.resolve()));
      }
      const semanticRuntimes = this.role === 'api' ? [] : this.runtimes.filter((r) => r.config.semantic.mode !== 'off');
      if (semanticRuntimes.length > 0) {
        checks.semantic = async () => {
          const degraded = semanticRuntimes.filter((r) => r.semantic?.state !== 'ok');
          if (degraded.length === 0) return;
          return { degraded: degraded.map((r) => `${r.config.id}: ${r.semantic?.reason ?? 'model not loaded yet'}`).join('; ') };
        };
      }
      this.api = buildApi({ alerts: this.alerts, checks, mode: this.config.mode, logger: this.logger, metrics: () => semanticMetrics(this.runtimes, this.semantic) + authorMetrics(this.runtimes) });
    }
  }

  private sourceFor(rt: PipelineRuntime, applier: BatchApplier): SignalSource {
    if (this.overrides.sourceFor) return this.overrides.sourceFor(rt);
    if (this.kafka) {
      const source = new KafkaSignalSource(
        this.kafka,
        {
          topic: rt.config.source.topic,
          groupId: `${this.config.env.KAFKA_GROUP_ID}.${rt.config.id}`,
          sessionTimeoutMs: this.config.env.KAFKA_SESSION_TIMEOUT_MS,
        },
        this.logger.child({ component: 'ingest', pipeline: rt.config.id }),
      );
      source.onPartitionsMoved(() => applier.forget());
      return source;
    }
    return new SampleStreamSource({ clock: this.clock, logger: this.logger.child({ component: 'sample-stream', pipeline: rt.config.id }) });
  }

  /** Connects, creates missing topics, starts the API, the consumers and the ticker. */
  async start(): Promise<void> {
    if (this.redis) await this.redis.connect();
    if (this.kafka) {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        const created = await ensureTopics(admin, [
          ...this.runtimes.map((r) => ({ topic: r.config.source.topic })),
          ...this.runtimes.map((r) => ({ topic: r.config.alerts.kafkaTopic })),
          { topic: this.config.env.KAFKA_DEAD_LETTER_TOPIC },
        ]);
        if (created.length > 0) this.logger.info({ topics: created }, 'created Kafka topics');
      } finally {
        await admin.disconnect();
      }
    }
    if (this.role !== 'api') {
      // The model before the lists, the lists before the consumers: the first batch already
      // runs the version in force, with its exemplars embedded.
      this.semantic = await setupSemantic(this.runtimes, {
        models: this.config.models,
        workers: this.config.env.SURGEWATCH_EMBED_WORKERS,
        logger: this.logger.child({ component: 'semantic' }),
      });
      await indexLists(this.runtimes);
    }
    await this.logAuthorShare();
    await this.listSync?.start(this.config.topics);
    this.topicWatcher?.start();
    if (this.api) {
      await this.api.listen({ host: this.config.env.HTTP_HOST, port: this.overrides.httpPort ?? this.config.env.HTTP_PORT });
    }
    this.sources.forEach((source, i) => {
      const applier = this.appliers[i]!;
      void source.start((batch) => applier.handle(batch)).catch((err) => this.logger.error({ err, pipeline: applier.pipeline }, 'signal source failed'));
    });
    this.ticker?.start();
  }

  /**
   * Share of the signals counted so far without an author id, per pipeline: without them the
   * min-authors guard cannot apply, and alerts say distinct_authors null.
   */
  private async logAuthorShare(): Promise<void> {
    if (this.role === 'api') return;
    for (const rt of this.runtimes) {
      const totals = await this.windows.totals(rt.config.id);
      const signals = totals.signals ?? 0;
      const share = signals > 0 ? Math.round(((totals.no_author ?? 0) / signals) * 1000) / 1000 : null;
      this.logger.info({ pipeline: rt.config.id, signals, withoutAuthorShare: share }, share === null ? 'no signals counted yet: the share without author ids is logged at the first detection tick' : 'signals counted so far without author ids');
    }
  }

  /** The API's address once listening, e.g. http://127.0.0.1:8080. */
  apiUrl(): string | undefined {
    const addr = this.api?.server.address();
    if (!addr || typeof addr === 'string') return undefined;
    const host = addr.address === '::' || addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
  }

  /** Stop taking work, finish and commit the batch in hand, flush, close clients. */
  close = closeOnce(async () => {
    const step = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        this.logger.warn({ err }, `closing ${name} failed`);
      }
    };
    await step('topic watcher', async () => this.topicWatcher?.close());
    await step('list sync', async () => this.listSync?.close());
    await step('ticker', async () => this.ticker?.close());
    for (const s of this.sources) await step('source', () => s.close());
    this.abort.abort();
    await step('api', async () => this.api?.close());
    for (const c of this.closers) await step('client', c);
    await step('publisher', () => this.publisher.close());
    await step('dead letters', () => this.deadLetters.close());
    await step('producer', async () => this.producer?.close());
    await step('embedders', async () => this.semantic?.close());
    await step('windows', () => this.windows.close());
    await step('alerts', () => this.alerts.close());
    await step('lists', () => this.lists.close());
    await step('redis', async () => {
      if (this.redis && this.redis.status !== 'end') await this.redis.quit();
    });
  });
}
