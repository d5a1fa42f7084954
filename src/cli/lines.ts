import { createReadStream } from 'node:fs';

/**
 * Splits a file into raw byte lines (no decoding here: invalid UTF-8 is the decoder's to
 * report). A line longer than maxLineBytes is yielded truncated to maxLineBytes + 1 bytes, so
 * that the decoder rejects it as oversize without the whole line ever being held.
 */
export async function* readLines(path: string, maxLineBytes: number): AsyncGenerator<{ line: number; bytes: Buffer }> {
  let parts: Buffer[] = [];
  let held = 0;
  let line = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (held <= maxLineBytes) parts.push(piece.subarray(0, maxLineBytes + 1 - held));
      held += piece.length;
      const bytes = Buffer.concat(parts);
      parts = [];
      held = 0;
      start = nl + 1;
      line++;
      const trimmed = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.subarray(0, -1) : bytes;
      if (trimmed.length > 0) yield { line, bytes: trimmed };
    }
    const rest = chunk.subarray(start);
    if (held <= maxLineBytes) parts.push(rest.subarray(0, maxLineBytes + 1 - held));
    held += rest.length;
  }
  if (held > 0) {
    line++;
    yield { line, bytes: Buffer.concat(parts) };
  }
}
