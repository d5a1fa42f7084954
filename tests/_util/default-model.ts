/**
 * The shipped pipeline's model as `npm test` leaves it (it runs `models fetch --if-missing`
 * first). A test that needs it fails, with the command that fetches it, when it is not there.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { ModelSpec } from '../../src/config/model-schema.js';

export const DEFAULT_MODEL_ID = 'all-minilm-l6-v2-q';

export function defaultModelSpec(): ModelSpec {
  const spec = loadConfig({ env: {} }).models.get(DEFAULT_MODEL_ID);
  if (!spec?.path) throw new Error(`models/manifest.yaml has no "${DEFAULT_MODEL_ID}" with a path`);
  return spec;
}

/** The fetched model's folder, with its static stage; throws if either is missing. */
export function defaultModelDir(): string {
  const dir = defaultModelSpec().path!;
  if (!existsSync(join(dir, 'fetched.json')) || !existsSync(join(dir, 'static', 'static.json')))
    throw new Error(`the default model is not fetched at ${dir}: run "npm run cli -- models fetch ${DEFAULT_MODEL_ID}" (npm test does it first)`);
  return dir;
}
