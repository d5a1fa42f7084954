#!/usr/bin/env node
// Runs the whole test suite once, as two vitest runs side by side: the `unit` project (pure
// code, the embedded mode, the store contracts: mostly CPU) and the `integration` project
// (processes, brokers and a browser on the real services, one file at a time: mostly
// waiting). `vitest run` alone runs the same files, the two projects one after the other.
//
//   node scripts/test.mjs                 both projects at once; each line says its project
//   node scripts/test.mjs <vitest args>   just `vitest run <vitest args>`
//
// Exits with the first failing run's code (0 when both pass). Only Node builtins are used.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VITEST = path.join(path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const PROJECTS = ['integration', 'unit'];

/** Runs vitest with `args`; with a label, each line of its output starts with `[label] `. */
function vitest(args, label) {
  const child = spawn(process.execPath, [VITEST, 'run', ...args], { cwd: REPO_ROOT, stdio: label ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  if (label) {
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      let rest = '';
      from.setEncoding('utf8');
      from.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop();
        if (lines.length > 0) to.write(lines.map((l) => `[${label}] ${l}\n`).join(''));
      });
      from.on('end', () => rest && to.write(`[${label}] ${rest}\n`));
    }
  }
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  return { child, exited };
}

const extra = process.argv.slice(2);
const runs = extra.length > 0 ? [vitest(extra)] : PROJECTS.map((p) => vitest(['--project', p], p));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => runs.forEach((r) => r.child.kill(signal)));

const started = Date.now();
const codes = await Promise.all(runs.map((r) => r.exited));
if (runs.length > 1) {
  const summary = PROJECTS.map((p, i) => `${p}: ${codes[i] === 0 ? 'passed' : `failed (exit ${codes[i]})`}`).join(', ');
  process.stderr.write(`\n${summary}; ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`);
}
process.exit(codes.find((c) => c !== 0) ?? 0);
