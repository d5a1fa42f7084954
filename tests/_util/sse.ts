/** One Server-Sent Event as a client sees it. */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * Reads a text/event-stream response with fetch and a stream reader, as a browser dashboard
 * does (EventSource cannot send Authorization). `next(n)` waits for n more events.
 */
export class SseReader {
  readonly events: SseEvent[] = [];
  /** Comment lines (": heartbeat") seen so far. */
  readonly comments: string[] = [];
  private buffer = '';
  private consumed = 0;
  private done = false;
  private readonly reading: Promise<void>;
  private notify: (() => void) | undefined;

  constructor(private readonly response: Response) {
    this.reading = this.read();
  }

  static async open(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ response: Response; reader: SseReader | undefined }> {
    const response = await fetch(url, { headers, signal });
    return { response, reader: response.ok ? new SseReader(response) : undefined };
  }

  private async read(): Promise<void> {
    const reader = this.response.body!.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          this.parse(block);
        }
        this.notify?.();
      }
    } catch {
      // aborted by the test
    } finally {
      this.done = true;
      this.notify?.();
    }
  }

  private parse(block: string): void {
    const e: SseEvent = { id: undefined, event: undefined, data: '' };
    let isEvent = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(': ');
      const [field, value] = [line.slice(0, colon), line.slice(colon + 2)];
      if (field === 'id') e.id = value;
      else if (field === 'event') e.event = value;
      else if (field === 'data') e.data += value;
      else continue;
      isEvent = true;
    }
    if (isEvent) this.events.push(e);
  }

  /** The next n events (fails after timeoutMs, or if the stream ends first). */
  async next(n: number, timeoutMs = 10_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length - this.consumed < n) {
      if (this.done) throw new Error(`stream ended after ${this.events.length} events`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} events (have ${this.events.length - this.consumed})`);
      await new Promise<void>((resolve) => {
        this.notify = resolve;
        setTimeout(resolve, 100);
      });
    }
    const out = this.events.slice(this.consumed, this.consumed + n);
    this.consumed += n;
    return out;
  }

  /** Resolves once the server has ended the stream. */
  async ended(timeoutMs = 10_000): Promise<boolean> {
    const timer = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs));
    return Promise.race([this.reading.then(() => true), timer]);
  }

  /** Waits until a comment line has arrived. */
  async comment(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.comments.length === 0 || this.comments.every((c) => c === 'connected')) {
      if (this.done || Date.now() > deadline) throw new Error('no comment line arrived');
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.comments.find((c) => c !== 'connected')!;
  }
}
