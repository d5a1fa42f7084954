import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Starts `surgewatch` (src/bin/surgewatch.ts) as a process of its own with `env`, and adds it
 * to `children` so the test can kill what it started. Stderr is read (and dropped) so a chatty
 * process never blocks on a full pipe.
 */
export function startSurgewatch(env: NodeJS.ProcessEnv, children: ChildProcess[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/surgewatch.ts'], { cwd: resolve('.'), env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', () => undefined);
  children.push(child);
  return child;
}
