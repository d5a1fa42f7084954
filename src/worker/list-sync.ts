import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TopicDefinition } from '../config/topic-schema.js';
import type { ListChannel, PublishResult } from '../lists/list-channel.js';
import { createListSetDraft, type ListSet, type ListSetRef } from '../lists/list-set.js';
import type { Clock } from '../shared/clock.js';
import type { ConfigProblem } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { closeOnce } from '../shared/once.js';
import { compilePipelineLists, missingTopics, withExemplars, type PipelineLists, type PipelineRuntime } from './pipeline-runtime.js';

export interface ListSyncOptions {
  channel: ListChannel;
  runtimes: readonly PipelineRuntime[];
  clock: Clock;
  logger: Logger;
  /** Names where this process's lists come from, e.g. "files:/srv/surgewatch/config/topics". */
  source: string;
  workerId?: string;
  /** How often the process reports its version and checks for a missed announcement. */
  heartbeatMs?: number;
}

const DEFAULT_HEARTBEAT_MS = 15_000;

const sameRef = (a: ListSetRef | undefined, b: ListSetRef | undefined) => !!a && !!b && a.version === b.version && a.revision === b.revision;

/**
 * Keeps one process's pipelines on the list set in force: publishes the files' lists (at start
 * and when the watcher reads a change), follows the channel's announcements, compiles each new
 * set and swaps every pipeline's lists at once, then reports the version it runs. A set a
 * pipeline cannot run (a named topic is missing) is rejected as a whole and reported.
 */
export class ListSync {
  readonly workerId: string;
  private active: { ref: ListSetRef; topics: TopicDefinition[]; source: string; editedAt?: string | undefined } | undefined;
  private rejected: ListSetRef | undefined;
  private syncing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(private readonly opts: ListSyncOptions) {
    this.workerId = opts.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  /** The list set this process runs. */
  get activeRef(): ListSetRef | undefined {
    return this.active && { ...this.active.ref };
  }

  /**
   * Subscribes, publishes the files' lists unless they are already current or older than the
   * set in force (a process started on stale files does not revert every worker), and runs
   * whatever set is then current. `editedAtMs`: when the files were last changed.
   */
  async start(fileTopics: readonly TopicDefinition[], editedAtMs?: number): Promise<ListSetRef> {
    const { channel, logger } = this.opts;
    // The runtimes were compiled from these files: no need to compile them again.
    const draft = createListSetDraft(fileTopics, this.opts.source, editedAtMs);
    this.active = { ref: { version: draft.version, revision: 0 }, topics: draft.topics, source: draft.source, editedAt: draft.editedAt };
    this.unsubscribe = await channel.subscribe(() => void this.sync().catch((err) => logger.warn({ err }, 'reading the announced topic lists failed; the heartbeat retries')));
    const { set, published, superseded } = await channel.publish(draft, { onlyIfNotOlder: true });
    if (published) logger.info({ version: set.version, revision: set.revision, source: set.source }, 'published the topic lists from files');
    if (superseded) {
      logger.warn(
        { files: { version: draft.version, editedAt: draft.editedAt }, current: { version: set.version, revision: set.revision, editedAt: set.editedAt, source: set.source } },
        `the topic lists in force (version ${set.version}, edited ${set.editedAt}) are newer than this process's files (version ${draft.version}, edited ${draft.editedAt}): running those, not the files`,
      );
    }
    await this.sync();
    this.timer = setInterval(() => void this.beat(), this.opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    this.timer.unref();
    const ref = this.activeRef!;
    logger.info({ version: ref.version, revision: ref.revision, worker: this.workerId }, `topic lists active: version ${ref.version}, revision ${ref.revision}`);
    return ref;
  }

  /** Publishes lists read from files (a valid reload); every process then swaps them in. */
  async publishTopics(topics: readonly TopicDefinition[]): Promise<PublishResult> {
    // A reload is a change made now: it replaces the set in force whatever its age.
    const result = await this.opts.channel.publish(createListSetDraft(topics, this.opts.source, this.opts.clock.now()));
    const { set, published } = result;
    if (published) this.opts.logger.info({ version: set.version, revision: set.revision }, `published reloaded topic lists: version ${set.version}, revision ${set.revision}`);
    else this.opts.logger.debug({ version: set.version }, 'reloaded topic lists are unchanged');
    // The folder reads cleanly again: an earlier error no longer describes it.
    await this.opts.channel.clearError();
    await this.sync();
    return result;
  }

  /** Records a rejected reload; the active lists stay. */
  async reportProblems(problems: readonly ConfigProblem[], source = this.opts.source): Promise<void> {
    await this.opts.channel.reportError({
      at: new Date(this.opts.clock.now()).toISOString(),
      source,
      problems: [...problems],
      ...(this.active ? { active: { ...this.active.ref } } : {}),
      reportedBy: this.workerId,
    });
  }

  /** Reads the current set and swaps it in when it differs from the active one. Serialized. */
  async sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        if (this.closed) return;
        const set = await this.opts.channel.current();
        if (!set) await this.republish();
        else await this.apply(set);
      } while (this.again);
    })().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async apply(set: ListSet): Promise<void> {
    const ref: ListSetRef = { version: set.version, revision: set.revision };
    if (sameRef(ref, this.active?.ref) || sameRef(ref, this.rejected)) return;
    const { runtimes, logger } = this.opts;

    const problems: ConfigProblem[] = [];
    for (const rt of runtimes) {
      missingTopics(rt.config, set.topics).forEach((id) =>
        problems.push({ source: `pipeline ${rt.config.id}`, path: 'topics', message: `names topic "${id}", which list set revision ${set.revision} (version ${set.version}) lacks` }),
      );
    }
    let compiled: PipelineLists[] = [];
    if (problems.length === 0) {
      try {
        compiled =
          set.version === this.active?.ref.version
            ? runtimes.map((rt) => ({ ...rt.lists, set: ref })) // same content, new revision: nothing to compile
            : runtimes.map((rt) => compilePipelineLists(rt.config, set.topics, ref));
      } catch (err) {
        problems.push({ source: `revision ${set.revision}`, path: '', message: `cannot compile: ${(err as Error).message}` });
      }
    }
    if (problems.length > 0) {
      this.rejected = ref;
      logger.error({ version: set.version, revision: set.revision, active: this.active?.ref, problems }, 'list set rejected; the active version stays');
      await this.reportProblems(problems, `revision ${set.revision} (${set.source})`);
      return;
    }

    // Exemplars are embedded before the swap, so the new version arrives with its vectors.
    if (set.version !== this.active?.ref.version) {
      compiled = await Promise.all(compiled.map((lists, i) => withExemplars(runtimes[i]!, lists)));
    }
    // No await between these assignments: no batch or tick sees one pipeline swapped and another not.
    runtimes.forEach((rt, i) => (rt.lists = compiled[i]!));
    const previous = this.active?.ref;
    this.active = { ref, topics: set.topics, source: set.source, editedAt: set.editedAt };
    this.rejected = undefined;
    if (previous?.version !== ref.version) {
      logger.info({ version: ref.version, revision: ref.revision, previous }, `topic lists swapped in: version ${ref.version}, revision ${ref.revision}`);
    }
    await this.report();
  }

  /** The channel lost its set (flushed or expired): put the active one back for new processes. */
  private async republish(): Promise<void> {
    if (!this.active) return;
    const { editedAt } = this.active;
    const { set } = await this.opts.channel.publish({ version: this.active.ref.version, topics: this.active.topics, source: this.active.source, ...(editedAt && { editedAt }) });
    this.opts.logger.warn({ version: set.version, revision: set.revision }, 'the channel had no list set; republished the active one');
    await this.apply(set);
  }

  private async report(): Promise<void> {
    if (!this.active) return;
    await this.opts.channel.reportActive({
      workerId: this.workerId,
      pid: process.pid,
      host: hostname(),
      ...this.active.ref,
      at: new Date(this.opts.clock.now()).toISOString(),
    });
  }

  /** Reports liveness and catches an announcement lost over a reconnect. */
  private async beat(): Promise<void> {
    try {
      await this.report();
      const ref = await this.opts.channel.currentRef();
      if (!sameRef(ref, this.active?.ref) && !sameRef(ref, this.rejected)) await this.sync();
    } catch (err) {
      this.opts.logger.warn({ err }, 'topic lists heartbeat failed');
    }
  }

  close = closeOnce(async () => {
    this.closed = true;
    clearInterval(this.timer);
    await this.syncing?.catch(() => undefined);
    await this.unsubscribe?.();
    await this.opts.channel.removeWorker(this.workerId).catch(() => undefined);
  });
}
