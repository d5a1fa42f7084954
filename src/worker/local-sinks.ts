import type { Alert, AlertEventType } from '../alerts/alert.js';
import type { AlertPublisher } from '../alerts/alert-store.js';
import type { Logger } from '../shared/logger.js';
import type { DeadLetter } from './process-records.js';
import type { DeadLetterSink } from './source.js';

/** Embedded mode: dead letters are logged and kept (bounded) in memory. */
export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: { pipeline: string; code: string; reason: string; offset: string }[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly max = 1000,
  ) {}

  async send(pipeline: string, _source: { topic: string; partition: number }, letters: readonly DeadLetter[]): Promise<void> {
    for (const d of letters) {
      this.logger.warn({ pipeline, offset: d.record.offset, code: d.code }, `dead letter: ${d.reason}`);
      this.letters.push({ pipeline, code: d.code, reason: d.reason, offset: d.record.offset });
    }
    if (this.letters.length > this.max) this.letters.splice(0, this.letters.length - this.max);
  }

  async close(): Promise<void> {}
}

/** Embedded mode: alert events go to the log (the API serves them from the store). */
export class LogAlertPublisher implements AlertPublisher {
  constructor(private readonly logger: Logger) {}

  async publish(_topic: string, event: { type: AlertEventType; alert: Alert }): Promise<void> {
    this.logger.info({ alert: event.alert.id, event: event.type, severity: event.alert.severity }, event.alert.summary);
  }

  async close(): Promise<void> {}
}
