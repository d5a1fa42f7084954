import { watch, type FSWatcher } from 'node:fs';
import { ConfigError, type ConfigProblem } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { closeOnce } from '../shared/once.js';
import { loadTopics, type TopicReferences } from './load.js';
import type { TopicDefinition } from './topic-schema.js';

export interface TopicWatcherOptions {
  topicsDir: string;
  /** The pipelines' topic references: a reload that drops a named topic is rejected. */
  references: readonly TopicReferences[];
  logger: Logger;
  /** Quiet time after the last change before reloading (editors write in several steps). */
  debounceMs?: number;
  /** After a failed handler (e.g. Redis down), the folder is read again after this long. */
  retryMs?: number;
  /** Called with every reload that validates, in order, one at a time. */
  onTopics(topics: TopicDefinition[]): Promise<void>;
  /** Called with every problem of a reload that does not validate; nothing of it is applied. */
  onProblems(problems: readonly ConfigProblem[]): Promise<void>;
}

const DEFAULT_DEBOUNCE_MS = 300;
const DEFAULT_RETRY_MS = 5000;

/**
 * Watches the topics folder and re-reads all of it, with the checks of start-up, after each
 * burst of changes. The folder is watched rather than its files, so that editors that save by
 * writing a new file and renaming it over the old one (and Kubernetes ConfigMap symlink swaps)
 * are seen too.
 */
export class TopicWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly opts: TopicWatcherOptions) {}

  start(): void {
    if (this.closed || this.watcher) return;
    try {
      this.watcher = watch(this.opts.topicsDir, { persistent: false }, () => this.schedule(this.opts.debounceMs ?? DEFAULT_DEBOUNCE_MS));
      this.watcher.on('error', (err) => {
        // E.g. the folder itself was removed or replaced: watch it again once it is back.
        this.opts.logger.warn({ err, dir: this.opts.topicsDir }, 'watching the topics folder failed; retrying');
        this.stopWatching();
        this.rewatchLater();
      });
    } catch (err) {
      this.opts.logger.warn({ err, dir: this.opts.topicsDir }, 'cannot watch the topics folder; retrying');
      this.rewatchLater();
    }
  }

  /** Reads the folder now (after any reload in progress). Resolves when that read was handled. */
  async reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      await this.running; // runs once more, after the read in progress
      return;
    }
    this.running = this.runReloads().finally(() => (this.running = undefined));
    await this.running;
  }

  private async runReloads(): Promise<void> {
    do {
      this.again = false;
      if (this.closed) return;
      try {
        await this.reloadOnce();
      } catch (err) {
        this.opts.logger.error({ err, dir: this.opts.topicsDir }, 'applying reloaded topic lists failed; will read the folder again');
        this.schedule(this.opts.retryMs ?? DEFAULT_RETRY_MS);
      }
    } while (this.again);
  }

  private async reloadOnce(): Promise<void> {
    const { topics, problems } = loadTopics(this.opts.topicsDir, this.opts.references);
    if (problems.length > 0) {
      this.opts.logger.error(
        { dir: this.opts.topicsDir, problems },
        `topic lists not reloaded, the active version stays: ${new ConfigError(problems).message}`,
      );
      await this.opts.onProblems(problems);
      return;
    }
    await this.opts.onTopics(topics);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, ms);
  }

  private rewatchLater(): void {
    if (this.closed) return;
    setTimeout(() => {
      if (this.closed || this.watcher) return;
      this.start();
      // Changes made while not watched are picked up by reading once.
      if (this.watcher) this.schedule(0);
    }, this.opts.retryMs ?? DEFAULT_RETRY_MS).unref();
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  close = closeOnce(async () => {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopWatching();
    await this.running;
  });
}
