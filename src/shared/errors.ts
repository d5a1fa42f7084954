/** Closed set of error codes. Infrastructure errors say whether a retry can help. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'REDIS_UNAVAILABLE'
  | 'KAFKA_UNAVAILABLE'
  | 'CONSUMERS_NOT_RUNNING'
  | 'NOT_FOUND'
  | 'BAD_REQUEST'
  | 'CLOSED'
  | 'LEASE_LOST'
  | 'UNAVAILABLE'
  | 'MODEL_UNAVAILABLE'
  | 'MVN_NOT_FOUND'
  | 'MODEL_FETCH_FAILED'
  | 'CHECKSUM_MISMATCH'
  | 'ARCHIVE_INVALID'
  | 'INTERNAL';

export class SurgewatchError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SurgewatchError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** One problem in a configuration source, located by file (or "env") and path. */
export interface ConfigProblem {
  source: string;
  path: string;
  message: string;
}

export class ConfigError extends SurgewatchError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.source}${p.path ? ` at ${p.path}` : ''}: ${p.message}`);
    super('CONFIG_INVALID', `configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export class NotFoundError extends SurgewatchError {
  constructor(message: string) {
    super('NOT_FOUND', message);
    this.name = 'NotFoundError';
  }
}

/** A write made under a lease that has since moved to another holder (or lapsed): refused. */
export class LeaseLostError extends SurgewatchError {
  constructor(lease: string) {
    super('LEASE_LOST', `lease "${lease}" is no longer held by this process; the write was refused`);
    this.name = 'LeaseLostError';
  }
}
