import { createServer, type Server, type ServerResponse } from 'node:http';

/** What the proxy does with one request: forward it, reset the connection, delay it, answer 500 or hold it forever. */
export type Fault = 'ok' | 'down' | 'slow' | '500' | 'hang';

/**
 * A tiny HTTP proxy in front of a remote system (a `sealab serve --role backend|content`) that fails, delays or holds
 * requests by saga step (the `step` of a JSON body), so a gateway's saga meets the faults a network and a remote
 * system produce. `seen` lists `METHOD step` for every request, in order.
 */
export class FaultProxy {
  rule: (method: string, step: string) => Fault = () => 'ok';
  seen: string[] = [];
  private held: ServerResponse[] = [];
  private server: Server;
  url = '';

  /** `target`: the system's base URL (settable later, before the first request); 'slow' waits `slowMs` before forwarding. */
  constructor(
    public target: string,
    private readonly slowMs = 1400,
  ) {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      let step = '';
      try {
        step = String((JSON.parse(body.toString('utf8')) as { step?: string }).step ?? '');
      } catch {
        /* a GET */
      }
      const fault = this.rule(req.method!, step);
      this.seen.push(`${req.method} ${step}`.trim());
      if (fault === 'down') return void req.socket.destroy();
      if (fault === '500') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('secret upstream stack trace');
      if (fault === 'hang') return void this.held.push(res);
      if (fault === 'slow') await new Promise((r) => setTimeout(r, this.slowMs));
      // The proxy's own leg to the backend is not under test: a reused keep-alive socket the backend
      // has just closed (a race on a loaded machine) is retried on a new one, as a real proxy does.
      const forward = () =>
        fetch(this.target + req.url, { method: req.method, headers: { 'content-type': 'application/json' }, ...(req.method === 'GET' ? {} : { body }) });
      try {
        const r = await forward().catch(() => new Promise((res) => setTimeout(res, 50)).then(forward));
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer()));
      } catch {
        res.destroy();
      }
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    const a = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${a.port}`;
  }

  close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
