#!/usr/bin/env node
// Copies the files tsc does not emit (e.g. src/windows/lua/*.lua, loaded at run time through
// `new URL('./lua/…', import.meta.url)`) from the build's rootDir to its outDir, keeping
// their relative paths, so that dist/ runs on its own.
//
//   node scripts/copy-assets.mjs [tsconfig]     (default: tsconfig.build.json)
//
// rootDir and outDir are read from the given tsconfig (relative to its folder). Every file
// under rootDir is copied except TypeScript sources and declarations. Only Node builtins.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = /\.(?:[cm]?tsx?)$/;

const tsconfigPath = path.resolve(REPO_ROOT, process.argv[2] ?? 'tsconfig.build.json');
const { compilerOptions = {} } = JSON.parse(fs.readFileSync(tsconfigPath, 'utf8'));
if (!compilerOptions.rootDir || !compilerOptions.outDir) {
  process.stderr.write(`copy-assets: ${path.relative(REPO_ROOT, tsconfigPath)} must set compilerOptions.rootDir and outDir\n`);
  process.exit(1);
}
const base = path.dirname(tsconfigPath);
const rootDir = path.resolve(base, compilerOptions.rootDir);
const outDir = path.resolve(base, compilerOptions.outDir);

let copied = 0;
for (const entry of fs.readdirSync(rootDir, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || SKIP.test(entry.name)) continue;
  const from = path.join(entry.parentPath ?? entry.path, entry.name);
  const to = path.join(outDir, path.relative(rootDir, from));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  copied++;
}
process.stderr.write(`copy-assets: ${copied} file(s) from ${path.relative(REPO_ROOT, rootDir)}/ to ${path.relative(REPO_ROOT, outDir)}/\n`);
