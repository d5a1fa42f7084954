/**
 * The shipped default model, fetched for real: mvn gets the LangChain4j jar from Maven Central
 * (or finds it in ~/.m2), its sha256 is the manifest's, and the laid-out folder (here a
 * temporary one) embeds sensibly with the transformers.js backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModels, readProcessEnv } from '../../src/config/load.js';
import { fetchModel, modelStatus } from '../../src/models/fetch.js';
import { loadBackend } from '../../src/scoring/backends/backend.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-real-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('all-minilm-l6-v2-q from Maven Central', () => {
  it('fetches through mvn, checks out, and ranks a self-harm paraphrase far above pizza', { timeout: 300_000 }, async () => {
    const shipped = loadModels('models/manifest.yaml').models.get('all-minilm-l6-v2-q')!;
    const spec = { ...shipped, path: join(dir, 'all-minilm-l6-v2-q') };
    const mvn = readProcessEnv().SURGEWATCH_MVN;
    const result = await fetchModel(spec, mvn ? { mvn } : {});
    expect(result.record.jar.sha256).toBe('9a68ca7a6c6df449739db3bf6a41b969e11c26995ab2b6381ad6c2955c5d1989');
    expect(await modelStatus(spec, spec.path, 'sha256')).toMatchObject({ status: 'ready' });

    const backend = await loadBackend(spec, dir);
    try {
      expect(backend.dim).toBe(384);
      const [hurt, kill, pizza] = await backend.embed(['how do I hurt myself', 'how can I kill myself', 'best pizza in town']);
      const related = cos(hurt!, kill!);
      const unrelated = cos(hurt!, pizza!);
      // Measured: 0.59 against 0.03.
      expect(related).toBeGreaterThan(0.45);
      expect(unrelated).toBeLessThan(0.2);
      expect(related - unrelated).toBeGreaterThan(0.3);
    } finally {
      await backend.close?.();
    }
  });
});
