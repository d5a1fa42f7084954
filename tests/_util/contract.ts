import { afterAll, afterEach, beforeEach, describe } from 'vitest';

export interface ContractHooks {
  afterEach?: () => Promise<void>;
  afterAll?: () => Promise<void>;
}

/**
 * Runs one contract suite against one implementation: a fresh instance per test (closed after
 * it), plus the implementation's own clean-up hooks.
 */
export function describeContract<T extends { close(): Promise<void> }>(
  title: string,
  factory: () => T,
  hooks: ContractHooks,
  body: (instance: () => T) => void,
): void {
  describe(title, () => {
    let instance: T;
    beforeEach(() => {
      instance = factory();
    });
    afterEach(async () => {
      await instance.close();
      await hooks.afterEach?.();
    });
    if (hooks.afterAll) afterAll(hooks.afterAll);
    body(() => instance);
  });
}
