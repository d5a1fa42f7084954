// Files that compiled code loads next to itself (`new URL('./lua/x.lua', import.meta.url)`) are not
// emitted by tsc; scripts/copy-assets.mjs copies them from rootDir to outDir. This runs the script
// into a temporary outDir and checks that every such file lands where the compiled JS looks for it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SRC = path.join(ROOT, 'src');
const CODE = /\.(?:[cm]?[jt]sx?)$/;

/** Non-code files the sources load relative to their own module URL, as paths under src/. */
function moduleRelativeAssets(): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.[cm]?tsx?$/.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new URL\(\s*(['"`])(\.{1,2}\/[^'"`$]+)\1\s*,\s*import\.meta\.url\s*\)/g)) {
      const target = m[2]!;
      if (!CODE.test(target)) out.push(path.relative(SRC, path.resolve(path.dirname(file), target)));
    }
  }
  return out;
}

describe('scripts/copy-assets.mjs', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'surgewatch-assets-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('puts every module-relative asset of src/ next to the compiled JS', () => {
    const assets = moduleRelativeAssets();
    expect(assets).toContain(path.join('windows', 'lua', 'apply-batch.lua'));
    expect(assets).toContain(path.join('windows', 'lua', 'read-counts.lua'));
    for (const a of assets) expect(existsSync(path.join(SRC, a)), `src/${a}`).toBe(true);

    const outDir = path.join(tmp, 'dist');
    const tsconfig = path.join(tmp, 'tsconfig.assets.json');
    writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { rootDir: SRC, outDir } }));
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'copy-assets.mjs'), tsconfig], { stdio: 'pipe' });

    for (const a of assets) expect(readFileSync(path.join(outDir, a), 'utf8'), a).toBe(readFileSync(path.join(SRC, a), 'utf8'));
    const copied = readdirSync(outDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(copied.filter((e) => /\.[cm]?tsx?$/.test(e.name)).map((e) => e.name)).toEqual([]);
  });

  it('runs as part of npm run build, so the built program finds its assets', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/tsc -p tsconfig\.build\.json && node scripts\/copy-assets\.mjs/);
  });
});
