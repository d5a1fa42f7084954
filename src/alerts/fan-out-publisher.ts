import type { AlertPublisher } from './alert-store.js';

/**
 * Hands each alert event to several publishers at once (the Kafka topic, webhooks); fails
 * when one of them fails. Closing is left to each publisher's owner.
 */
export function fanOut(publishers: readonly AlertPublisher[]): AlertPublisher {
  return {
    publish: async (topic: string, event: Parameters<AlertPublisher['publish']>[1]) => {
      const results = await Promise.allSettled(publishers.map((p) => p.publish(topic, event)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    close: async () => {},
  };
}
