import type { FastifyInstance } from 'fastify';
import type { AlertStore } from '../../src/alerts/alert-store.js';
import { MemoryDeliveryQueue, type DeliveryQueue } from '../../src/alerts/delivery-queue.js';
import { MemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { WebhookDelivery } from '../../src/alerts/webhook-delivery.js';
import { buildApi, type ApiDeps } from '../../src/api/app.js';
import type { EmergingTermsSource } from '../../src/api/topic-routes.js';
import { MemoryAuditLog, type AuditLog } from '../../src/audit/audit-log.js';
import { topicLinter } from '../../src/cli/lint.js';
import { pipelineSchema } from '../../src/config/pipeline-schema.js';
import { MemoryListChannel, type ListChannel } from '../../src/lists/list-channel.js';
import { TopicEditor } from '../../src/lists/topic-editor.js';
import { systemClock, type Clock } from '../../src/shared/clock.js';
import { silentLogger, type Logger } from '../../src/shared/logger.js';
import { MemoryWindowStore } from '../../src/windows/memory-window-store.js';
import type { WindowStore } from '../../src/windows/window-store.js';
import { DryRunner } from '../../src/worker/dry-runner.js';
import { ListSync } from '../../src/worker/list-sync.js';
import { testRuntime, testTopics } from './fixtures.js';
import { roleKeyring } from './role-keys.js';

export interface FullApiStores {
  alerts: AlertStore;
  audit: AuditLog;
  windows: WindowStore;
  /** The API's list channel. */
  lists: ListChannel;
  /** The worker's list channel (another connection in service mode; the same channel in memory). */
  workerLists?: ListChannel;
  deliveryQueue: DeliveryQueue;
}

export interface FullApi {
  app: FastifyInstance;
  stores: FullApiStores;
  close(): Promise<void>;
}

/** The in-memory stores of an embedded process. */
export function memoryStores(clock: Clock = systemClock): FullApiStores {
  return { alerts: new MemoryAlertStore(), audit: new MemoryAuditLog(clock), windows: new MemoryWindowStore(), lists: new MemoryListChannel(), deliveryQueue: new MemoryDeliveryQueue() };
}

/** Emerging terms as a pipeline counted them: none yet, but the route is served. */
const noEmergingTerms: EmergingTermsSource = {
  pipelines: () => ['test'],
  read: async (_pipeline, minutes) => ({ fromMs: Date.now() - minutes * 60_000, toMs: Date.now(), terms: [] }),
};

/**
 * The API with every optional part wired (deliveries, topics and dry runs, emerging terms,
 * alert detail and stream), keys of every role (tests/_util/role-keys.ts), and the test topics
 * in force through a worker's list sync. Route walks use it so that no route is left out.
 */
export async function buildFullApi(stores: FullApiStores = memoryStores(), overrides: Partial<ApiDeps> = {}, logger: Logger = silentLogger): Promise<FullApi> {
  const runtime = testRuntime({ topics: 'all' });
  const sync = new ListSync({ channel: stores.workerLists ?? stores.lists, runtimes: [runtime], clock: systemClock, logger, source: 'files:/srv/topics', heartbeatMs: 60_000 });
  await sync.start(testTopics, Date.now() - 60_000);
  const delivery = new WebhookDelivery({ queue: stores.deliveryQueue, routes: [], clock: systemClock, logger });
  // Typed so that an optional part added to ApiDeps fails to compile here until it is wired:
  // a route it brings cannot stay out of the role matrix and the hostile-request walks.
  const deps: Required<Omit<ApiDeps, 'metrics' | 'http' | 'storeTimeoutMs' | 'probesOnly'>> & Partial<ApiDeps> = {
    alerts: stores.alerts,
    audit: stores.audit,
    keys: roleKeyring(),
    checks: {},
    mode: 'service',
    logger,
    http: { rateLimitPerMin: 0 },
    deliveries: { deliveries: delivery },
    topics: {
      editor: new TopicEditor({ channel: stores.lists, clock: systemClock, logger, lint: topicLinter() }),
      dryRun: new DryRunner([runtime], stores.lists),
      emerging: noEmergingTerms,
    },
    detail: { windows: stores.windows, pipelines: [pipelineSchema.parse({ id: 'test' })], clock: systemClock, heartbeatMs: 15_000 },
    alertActions: { clock: systemClock },
    metricRegistries: [],
    ...overrides,
  };
  const app = buildApi(deps);
  return {
    app,
    stores,
    close: async () => {
      await app.close();
      await sync.close();
    },
  };
}
