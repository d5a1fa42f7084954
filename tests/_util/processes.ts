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

/** Stops a process as an operator would: SIGTERM, then SIGKILL if it is still up after forceAfterMs. */
export function stopGracefully(child: ChildProcess, forceAfterMs = 15_000): Promise<void> {
  return new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const force = setTimeout(() => child.kill('SIGKILL'), forceAfterMs);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** A pipeline file for list hot-reload tests: self-harm and scams-fraud by region, alerts on `<id>-alerts`. */
export function listsPipelineYaml(pipeline: string, topic: string, id: string): string {
  return [
    `id: ${pipeline}`,
    `source: { topic: ${topic} }`,
    'topics: [self-harm, scams-fraud]',
    'windows: { bucketSec: 10, currentSec: 60, baselineSec: 600, retentionSec: 3600, latenessSec: 86400, dimensions: [region] }',
    `alerts: { kafkaTopic: ${id}-alerts }`,
  ].join('\n');
}

/**
 * Starts `surgewatch` like startSurgewatch, keeping its last 400 chunks of output (stdout and
 * stderr, each prefixed with the pid) in `output`, for a failing test to print.
 */
export function startSurgewatchKeepingOutput(env: NodeJS.ProcessEnv, children: ChildProcess[], output: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/surgewatch.ts'], { cwd: resolve('.'), env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output.push(`[${child.pid}] ${chunk.toString()}`);
    if (output.length > 400) output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  children.push(child);
  return child;
}
