import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const SHIPPED = fileURLToPath(new URL('../../pipelines/', import.meta.url));

/**
 * The shipped pipelines with `semantic.model` set to `model`, in a temporary folder (for
 * SURGEWATCH_PIPELINES_DIR): tests that assert what one model scores must not depend on which
 * models happen to be fetched.
 */
export function shippedPipelinesOn(model: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `surgewatch-pipelines-${model}-`));
  for (const name of readdirSync(SHIPPED).filter((n) => /\.ya?ml$/.test(n))) {
    const pipeline = parse(readFileSync(join(SHIPPED, name), 'utf8')) as { semantic?: Record<string, unknown> };
    pipeline.semantic = { ...pipeline.semantic, model };
    writeFileSync(join(dir, name), stringify(pipeline));
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
