import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { AlertPublisher, AlertStore } from './alerts/alert-store.js';
import { MemoryAlertStore } from './alerts/memory-alert-store.js';
import { OutboxRelay } from './alerts/outbox-relay.js';
import { RedisAlertStore } from './alerts/redis-alert-store.js';
import { MemoryDeliveryQueue, type DeliveryQueue } from './alerts/delivery-queue.js';
import { fanOut } from './alerts/fan-out-publisher.js';
import { RedisDeliveryQueue } from './alerts/redis-delivery-queue.js';
import { WebhookDelivery } from './alerts/webhook-delivery.js';
import { registerOperationsMetrics } from './alerts/operations-metrics.js';
import { buildApi, type ReadinessCheck } from './api/app.js';
import { ApiKeyring } from './api/auth.js';
import { MemoryAuditLog, type AuditLog } from './audit/audit-log.js';
import { RedisAuditLog } from './audit/redis-audit-log.js';
import { ensureAdminKey } from './config/admin-key.js';
import type { AppConfig } from './config/load.js';
import { TopicWatcher } from './config/topic-watcher.js';
import { createKafka, ensureTopics } from './ingest/kafka-client.js';
import { KafkaAlertPublisher, KafkaDeadLetterSink, KafkaProducerHandle } from './ingest/kafka-sinks.js';
import { KafkaSignalSource } from './ingest/kafka-signal-source.js';
import { MemoryListChannel, type ListChannel } from './lists/list-channel.js';
import { RedisListChannel } from './lists/redis-list-channel.js';
import { TopicEditor } from './lists/topic-editor.js';
import { topicLinter } from './cli/lint.js';
import { DryRunner } from './worker/dry-runner.js';
import { EmergingTermsReader } from './worker/emerging-terms.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createLogger, type Logger } from './shared/logger.js';
import { counter, createMetricsRegistry, enableProcessMetrics, exposition, readMetric, type MetricsRegistry } from './shared/metrics.js';
import { closeOnce } from './shared/once.js';
import { leaseKey } from './windows/keys.js';
import { MemoryLease, RedisLease, type Lease } from './windows/lease.js';
import { MemoryStreakStore, RedisStreakStore, type StreakStore } from './windows/streak-store.js';
import { MemoryWindowStore } from './windows/memory-window-store.js';
import { redisCall, watchRedis } from './windows/redis-health.js';
import { RedisWindowStore } from './windows/redis-window-store.js';
import type { WindowStore } from './windows/window-store.js';
import { BatchApplier } from './worker/batch-applier.js';
import { DetectionTicker } from './worker/detection-ticker.js';
import { ListSync } from './worker/list-sync.js';
import { LogAlertPublisher, MemoryDeadLetterSink } from './worker/local-sinks.js';
import { buildPipelineRuntime, type PipelineRuntime } from './worker/pipeline-runtime.js';
import { SampleStreamSource } from './worker/sample-stream.js';
import { checkSourcesRunning, SOURCE_STATES, type DeadLetterSink, type SignalSource, type SourceStatus } from './worker/source.js';
import { registerAuthorMetrics } from './worker/process-records.js';
import { indexLists, registerSemanticMetrics, setupSemantic, type SemanticSetup } from './worker/semantic-setup.js';

const alertEvents = counter({
  name: 'surgewatch_alert_events_total',
  help: 'Alert events published (opened, updated, resolved), by topic, severity and kind.',
  labelNames: ['pipeline', 'topic', 'severity', 'kind', 'event'],
});

/** Counts each published alert event, then hands it on. */
function countingPublisher(inner: AlertPublisher): AlertPublisher {
  return {
    publish: (topic, event) => {
      const a = event.alert;
      alertEvents.inc({ pipeline: a.pipeline, topic: a.topic, severity: a.severity, kind: a.kind, event: event.type });
      return inner.publish(topic, event);
    },
    close: () => inner.close(),
  };
}

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
  /** Publishes the alert events the ticker writes to the outbox (worker roles only). */
  relay: OutboxRelay | undefined;
  /** Where topic lists are published and followed (Redis in service mode, memory in embedded). */
  lists!: ListChannel;
  /** Keeps this process's pipelines on the list set in force (worker roles only). */
  listSync: ListSync | undefined;
  topicWatcher: TopicWatcher | undefined;
  /** Embedding pools and caches (worker roles with semantic scoring on). */
  semantic: SemanticSetup | undefined;
  /** How each source's start() went, for sources that do not report a status of their own. */
  private readonly started: SourceStatus[] = [];
  private readonly abort = new AbortController();
  private readonly closers: (() => Promise<unknown>)[] = [];
  private redis: Redis | undefined;
  private kafka: Kafka | undefined;
  private producer: KafkaProducerHandle | undefined;
  windows!: WindowStore;
  alerts!: AlertStore;
  lease!: Lease;
  streaks!: StreakStore;
  publisher!: AlertPublisher;
  /** Webhook deliveries: queued by the tick holder, sent by every worker, dead letters for the API. */
  deliveryQueue!: DeliveryQueue;
  delivery!: WebhookDelivery;
  deadLetters!: DeadLetterSink;
  /** Who changed or revealed what (Redis stream in service mode, memory in embedded). */
  audit!: AuditLog;
  /** The API keys in force: the configured ones, or the generated admin key in embedded mode. */
  readonly keys: ApiKeyring;
  /** Figures this context reads from its own objects at each scrape (the process's are in shared/metrics). */
  readonly metrics: MetricsRegistry = createMetricsRegistry();
  /** Embedded mode without configured keys: the admin key file, and the key when this start created it. */
  adminKey: { file: string; created?: string } | undefined;
  readonly logger: Logger;
  readonly clock: Clock;

  private constructor(
    readonly config: AppConfig,
    private readonly overrides: ContextOverrides,
  ) {
    this.logger = overrides.logger ?? createLogger(config.env.LOG_LEVEL);
    this.clock = overrides.clock ?? systemClock;
    this.runtimes = config.pipelines.map((p) => buildPipelineRuntime(p, config.topics));
    this.keys = new ApiKeyring(config.apiKeys);
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
      watchRedis(this.redis, this.logger);
      this.kafka = createKafka({ brokers: env.KAFKA_BROKERS!, clientId: env.KAFKA_CLIENT_ID }, this.logger);
      this.producer = new KafkaProducerHandle(this.kafka, this.logger.child({ component: 'kafka' }));
      const retention = new Map(this.runtimes.map((r) => [r.config.id, r.config.alerts.retentionDays * 86_400]));
      this.windows = new RedisWindowStore(this.redis, env.REDIS_KEY_PREFIX);
      this.alerts = new RedisAlertStore(this.redis, env.REDIS_KEY_PREFIX, this.runtimes.map((r) => r.config.id), retention);
      const redis = this.redis;
      this.lease = new RedisLease(redis, (name) => leaseKey(env.REDIS_KEY_PREFIX, name));
      this.streaks = new RedisStreakStore(redis, env.REDIS_KEY_PREFIX);
      this.publisher = countingPublisher(new KafkaAlertPublisher(this.producer));
      this.audit = new RedisAuditLog(this.redis, env.REDIS_KEY_PREFIX, { retentionDays: env.SURGEWATCH_AUDIT_RETENTION_DAYS });
      this.deadLetters = new KafkaDeadLetterSink(this.producer, env.KAFKA_DEAD_LETTER_TOPIC);
      this.lists = new RedisListChannel(redis, env.REDIS_KEY_PREFIX, { clock: this.clock });
      this.deliveryQueue = new RedisDeliveryQueue(redis, env.REDIS_KEY_PREFIX);
      checks.redis = async () => void (await redisCall(() => redis.ping()));
    } else {
      this.windows = new MemoryWindowStore({ clock: this.clock });
      const lease = new MemoryLease(this.clock);
      this.lease = lease;
      this.alerts = new MemoryAlertStore({ fenceCheck: lease.holds });
      this.streaks = new MemoryStreakStore(lease.holds);
      this.publisher = countingPublisher(new LogAlertPublisher(this.logger.child({ component: 'alerts' })));
      this.audit = new MemoryAuditLog(systemClock);
      this.deadLetters = new MemoryDeadLetterSink(this.logger.child({ component: 'dead-letters' }));
      this.lists = new MemoryListChannel({ clock: this.clock });
      this.deliveryQueue = new MemoryDeliveryQueue();
    }
    this.delivery = new WebhookDelivery({ queue: this.deliveryQueue, routes: this.config.webhooks, clock: this.clock, logger: this.logger.child({ component: 'webhooks' }) });

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
          onTopics: async (topics) => {
            const { set, published } = await listSync.publishTopics(topics);
            if (!published) return;
            const details = { version: set.version, revision: set.revision, topics: topics.map((t) => t.id) };
            // The lists are in force either way: a failed audit write is reported, not retried as a reload.
            await this.audit
              .append({ actor: { name: 'system:files', role: null }, action: 'lists.publish', target: this.config.topicsDir, details })
              .catch((err: unknown) => this.logger.error({ err, ...details }, 'published topic lists could not be written to the audit log'));
          },
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
      this.relay = new OutboxRelay({
        store: this.alerts,
        // Webhooks are one more consumer of alert events, fed from the outbox: an event that a
        // failed send repeats is queued once per alert version.
        publisher: fanOut([this.publisher, this.delivery]),
        pipelines: this.runtimes.map((r) => ({ id: r.config.id, topic: r.config.alerts.kafkaTopic })),
        logger: this.logger.child({ component: 'alerts' }),
        closeGraceMs: Math.min(5000, env.SURGEWATCH_SHUTDOWN_GRACE_MS / 4),
        lease: this.lease,
      });
      this.ticker = new DetectionTicker({
        runtimes: this.runtimes,
        windows: this.windows,
        alerts: this.alerts,
        outbox: this.relay,
        lease: this.lease,
        streaks: this.streaks,
        clock: this.clock,
        logger: this.logger.child({ component: 'detect' }),
      });
      checks.consumers = async () => checkSourcesRunning(Object.fromEntries(this.sourceStatuses()));
      if (this.kafka) {
        const sources = this.sources;
        checks.kafka = async () => {
          for (const s of sources) await s.ping();
        };
      }
    }
    {
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
      enableProcessMetrics();
      registerSemanticMetrics(this.metrics, this.runtimes, () => this.semantic);
      this.registerAlertMetrics();
      registerOperationsMetrics(this.metrics, { alerts: this.alerts, clock: this.clock, logger: this.logger });
      registerAuthorMetrics(this.metrics, this.runtimes);
      if (this.sources.length > 0) this.registerSourceMetrics();
      this.delivery.registerMetrics(this.metrics);
      const dryRun = new DryRunner(this.runtimes, this.lists);
      this.api = buildApi({
        alerts: this.alerts,
        audit: this.audit,
        keys: this.keys,
        checks,
        mode: this.config.mode,
        logger: this.logger,
        metrics: () => exposition(this.metrics),
        metricRegistries: [this.metrics],
        deliveries: { deliveries: this.delivery },
        alertActions: {
          clock: this.clock,
          cooldownSecByPipeline: new Map(this.runtimes.map((r) => [r.config.id, r.config.detect.cooldownSec])),
          onEvent: () => this.relay?.wake(),
        },
        topics: {
          // Embedded mode keeps changes in its topic files too (service mode: Redis is the store).
          editor: new TopicEditor({
            channel: this.lists,
            clock: this.clock,
            logger: this.logger.child({ component: 'lists' }),
            lint: topicLinter(),
            ...(this.config.mode === 'embedded' && { filesDir: this.config.topicsDir }),
          }),
          dryRun,
          emerging: new EmergingTermsReader(this.runtimes, this.windows, this.clock, (pipeline) => dryRun.listsInForce(pipeline)),
          clock: this.clock,
          // A definition may list 50,000 terms: a larger body than other routes, never a smaller one.
          definitionBodyLimitBytes: Math.max(env.HTTP_BODY_LIMIT_BYTES, 4 * 1024 * 1024),
        },
        detail: { windows: this.windows, pipelines: this.config.pipelines, clock: this.clock },
        // A worker-only process serves its probes and its own figures (lag, processed) only.
        probesOnly: this.role === 'worker',
        http: { bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES, rateLimitPerMin: env.HTTP_RATE_LIMIT_PER_MIN, corsOrigins: env.HTTP_CORS_ORIGINS ?? [] },
      });
    }
  }

  /** Open alerts by topic and severity, read from the store at each scrape. */
  private registerAlertMetrics(): void {
    readMetric(this.metrics, {
      type: 'gauge',
      name: 'surgewatch_alerts_open',
      help: 'Alerts not resolved (open or acknowledged), by topic and severity.',
      labelNames: ['pipeline', 'topic', 'severity'],
      read: async () => {
        const counts = new Map<string, [{ pipeline: string; topic: string; severity: string }, number]>();
        try {
          for (const rt of this.runtimes) {
            for (const a of await this.alerts.listOpen(rt.config.id)) {
              const key = `${a.pipeline}\0${a.topic}\0${a.severity}`;
              const row = counts.get(key) ?? [{ pipeline: a.pipeline, topic: a.topic, severity: a.severity }, 0];
              row[1]++;
              counts.set(key, row);
            }
          }
        } catch (err) {
          // The other figures are still worth serving while the store does not answer.
          this.logger.warn({ err }, 'open alerts could not be counted for /metrics');
        }
        return counts.values();
      },
    });
  }

  /** Each source's status by pipeline: its own report, or how its start() went. */
  private sourceStatuses(): [string, SourceStatus][] {
    return this.sources.map((s, i) => [this.appliers[i]!.pipeline, s.status?.() ?? this.started[i] ?? { state: 'starting', since: '', failures: 0 }]);
  }

  /** Consumer state, lag and committed offsets per pipeline, read from the sources at each scrape. */
  private registerSourceMetrics(): void {
    readMetric(this.metrics, {
      type: 'gauge',
      name: 'surgewatch_consumer_up',
      help: "1 for the state each pipeline's consumer is in (running when it takes batches), 0 for the others.",
      labelNames: ['pipeline', 'state'],
      read: () => this.sourceStatuses().flatMap(([pipeline, st]) => SOURCE_STATES.map((state): [{ pipeline: string; state: string }, number] => [{ pipeline, state }, st.state === state ? 1 : 0])),
    });
    const positions = async () =>
      (await Promise.all(this.sources.map(async (s, i) => ((await s.positions?.()) ?? []).map((p) => ({ pipeline: this.appliers[i]!.pipeline, ...p }))))).flat();
    const labels = (p: { pipeline: string; topic: string; partition: number }) => ({ pipeline: p.pipeline, topic: p.topic, partition: String(p.partition) });
    readMetric(this.metrics, {
      type: 'gauge',
      name: 'surgewatch_consumer_lag',
      help: 'Records behind the end of each partition consumed: its high watermark at scrape time (or at the last fetch, when the broker is slow) minus the committed offset.',
      labelNames: ['pipeline', 'topic', 'partition'],
      read: async () => (await positions()).map((p) => [labels(p), p.lag]),
    });
    readMetric(this.metrics, {
      type: 'gauge',
      name: 'surgewatch_consumer_committed_offset',
      help: 'The next offset to process in each partition consumed: every record before it is applied and committed.',
      labelNames: ['pipeline', 'topic', 'partition'],
      read: async () => (await positions()).map((p) => [labels(p), Number(p.committedOffset)]),
    });
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
    // The sample's history covers what the pipeline needs before it alerts (its baseline's
    // cold-start share, the gap and the window), with 5 minutes to spare.
    const { windows: w, detect } = rt.config;
    const backfillMs = Math.max(35 * 60_000, (detect.minBaselineCoverage * w.baselineSec + w.baselineGapSec + w.currentSec + 300) * 1000);
    return new SampleStreamSource({ clock: this.clock, backfillMs, logger: this.logger.child({ component: 'sample-stream', pipeline: rt.config.id }) });
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
        jobTimeoutMs: this.config.env.SURGEWATCH_EMBED_TIMEOUT_MS,
        logger: this.logger.child({ component: 'semantic' }),
      });
      await indexLists(this.runtimes);
    }
    await this.logAuthorShare();
    await this.listSync?.start(this.config.topics, this.config.topicsEditedAtMs);
    this.topicWatcher?.start();
    const port = this.role === 'worker' ? (this.overrides.httpPort ?? this.config.env.SURGEWATCH_PROBES_PORT) : (this.overrides.httpPort ?? this.config.env.HTTP_PORT);
    if (this.api && port !== undefined) {
      if (this.keys.size === 0 && this.role !== 'worker') {
        // Embedded mode without configured keys: an admin key of its own, kept in a file.
        const admin = ensureAdminKey(this.config.adminKeyFile);
        this.keys.add(admin.entry);
        this.adminKey = { file: this.config.adminKeyFile, ...(admin.created && { created: admin.key }) };
        if (admin.created) await this.audit.append({ actor: { name: 'system', role: null }, action: 'keys.create', target: 'admin', details: { file: this.config.adminKeyFile } });
      }
      const { host, hostReason } = this.config.http;
      if (hostReason) this.logger.warn({ host }, hostReason);
      await this.api.listen({ host, port });
    }
    this.sources.forEach((source, i) => {
      const applier = this.appliers[i]!;
      const since = () => new Date().toISOString();
      this.started[i] = { state: 'starting', since: since(), failures: 0 };
      void source.start((batch) => applier.handle(batch)).then(
        () => (this.started[i] = { state: 'running', since: since(), failures: 0 }),
        (err: unknown) => {
          this.started[i] = { state: 'failed', since: since(), failures: 1, error: String(err) };
          this.logger.error({ err, pipeline: applier.pipeline }, 'signal source failed to start');
        },
      );
    });
    this.ticker?.start();
    if (this.role !== 'api') this.delivery.start();
    this.relay?.start();
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

  /**
   * Stop taking work, finish and commit the batch in hand, flush, close clients; all within
   * SURGEWATCH_SHUTDOWN_GRACE_MS, even with Redis or Kafka down. A batch that cannot finish in
   * time is given up uncommitted (it is delivered again to the next owner: nothing lost), and a
   * step that does not end in time is left behind.
   */
  close = closeOnce(async () => {
    const graceMs = this.config.env.SURGEWATCH_SHUTDOWN_GRACE_MS;
    // A quarter of the grace period (at most 2 s) is kept for the steps that come after the
    // deadline: each still gets a moment, and the process must exit before the grace is over.
    const deadline = Date.now() + graceMs - Math.min(2000, graceMs / 4);
    const giveUp = setTimeout(() => {
      this.logger.warn({ graceMs }, 'shutting down: half the grace period passed; a batch still in hand is given up uncommitted (it is delivered again)');
      this.abort.abort();
    }, graceMs / 2);
    giveUp.unref();
    const step = async (name: string, fn: () => Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        // Past the deadline a step still gets a moment: closing a healthy client is quick.
        const left = Math.max(100, deadline - Date.now());
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), left)));
        if ((await Promise.race([fn(), late])) === 'late') this.logger.warn({ step: name }, `closing ${name} did not finish within the shutdown grace period; left behind`);
      } catch (err) {
        this.logger.warn({ err }, `closing ${name} failed`);
      } finally {
        clearTimeout(timer);
      }
    };
    await step('topic watcher', async () => this.topicWatcher?.close());
    await step('list sync', async () => this.listSync?.close());
    await step('ticker', async () => this.ticker?.close());
    await step('alert outbox', async () => this.relay?.close());
    await step('webhooks', () => this.delivery.close());
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
    await step('audit', () => this.audit.close());
    await step('lists', () => this.lists.close());
    await step('delivery queue', () => this.deliveryQueue.close());
    await step('redis', async () => {
      // QUIT waits for a connection; without one there is nothing to say goodbye to.
      if (this.redis?.status === 'ready') await this.redis.quit();
      else this.redis?.disconnect();
    });
    clearTimeout(giveUp);
  });
}
