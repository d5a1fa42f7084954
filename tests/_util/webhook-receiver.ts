import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Status to answer a request with (the n-th to this receiver, from 1), or 'hang' to never answer. */
export type Respond = (request: ReceivedRequest, n: number) => number | 'hang';

/** A real HTTP receiver on 127.0.0.1 and a free port, recording every request. */
export interface Receiver {
  url: string;
  received: ReceivedRequest[];
  /** Changes how later requests are answered (a receiver that gets fixed). */
  respond: Respond;
  close(): Promise<void>;
}

export async function startReceiver(respond: Respond = () => 200): Promise<Receiver> {
  const hanging = new Set<() => void>();
  const receiver: Receiver = { url: '', received: [], respond, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      receiver.received.push(request);
      const status = receiver.respond(request, receiver.received.length);
      if (status === 'hang') {
        hanging.add(() => res.destroy());
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = async () => {
    for (const h of hanging) h();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}
