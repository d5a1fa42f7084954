import { PassThrough } from 'node:stream';

/** Streams for a command's stdout and stderr, and what was written to each, as lines. */
export function captureIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  const lines = (chunks: string[]) => chunks.join('').split('\n').filter(Boolean);
  return { io: { stdout, stderr }, out: () => lines(out), err: () => lines(err) };
}
