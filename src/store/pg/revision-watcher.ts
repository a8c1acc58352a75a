import pg from 'pg';
import { pgClientConfig } from '../sql/pg-sql.js';
import type { Sql } from '../sql/sql.js';
import { readRevision, REVISION_CHANNEL } from './revision.js';

/** How a new revision was learnt: the first read, a NOTIFY, a poll, or the re-read after (re)connecting LISTEN. */
export type RevisionSource = 'start' | 'notify' | 'poll' | 'reconnect';

export interface RevisionWatcherOptions {
  /** Where LISTEN connects (its own connection, outside any pool). */
  url: string;
  /** Reads the revision for polls and after a reconnect. */
  sql: Sql;
  /** Called once per newer revision, in increasing order. */
  onRevision(revision: number, via: RevisionSource): void;
  /** Poll period while the LISTEN connection is down (default 1,000 ms). */
  pollMs?: number;
  /** Poll period while listening, in case a notification is lost (default 5,000 ms; 0: none). */
  safetyPollMs?: number;
  /** First delay before reconnecting LISTEN; doubles on each failure up to 30 s (default 1,000 ms). */
  reconnectMs?: number;
  /** Opens the LISTEN connection (default: a pg.Client on `url`). */
  connect?: () => Promise<pg.Client>;
  onError?(err: Error): void;
}

/**
 * Follows the configuration revision of a shared PostgreSQL (issue 17 item 2): LISTEN on its channel for prompt
 * news, the revision re-read at every (re)connection (notifications sent while not listening are lost), and a
 * poll — frequent while LISTEN is down, rare while it is up — so a dropped connection delays a replica by at most
 * a poll period, never forever.
 */
export class RevisionWatcher {
  private known = 0;
  private client: pg.Client | undefined;
  private pid: number | null = null;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay: number;
  private stopped = false;
  private readonly pollMs: number;
  private readonly safetyPollMs: number;
  private readonly reconnectMs: number;

  constructor(private readonly opts: RevisionWatcherOptions) {
    this.pollMs = opts.pollMs ?? 1000;
    this.safetyPollMs = opts.safetyPollMs ?? 5000;
    this.reconnectMs = opts.reconnectMs ?? 1000;
    this.reconnectDelay = this.reconnectMs;
  }

  /** The newest revision seen. */
  get revision(): number {
    return this.known;
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /** The backend pid of the LISTEN connection (null while down). */
  get listenerPid(): number | null {
    return this.pid;
  }

  /** Reads the current revision, then listens; a LISTEN that cannot connect yet leaves polling on and retries. */
  async start(): Promise<number> {
    this.observe(await readRevision(this.opts.sql), 'start');
    await this.listen();
    return this.known;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = undefined;
    this.pid = null;
    await c?.end().catch(() => {});
  }

  private observe(revision: number, via: RevisionSource): void {
    if (revision <= this.known && via !== 'start') return;
    this.known = Math.max(this.known, revision);
    if (via !== 'start') this.opts.onRevision(revision, via);
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    let c: pg.Client | undefined;
    try {
      c = this.opts.connect ? await this.opts.connect() : await connectClient(this.opts.url);
      c.on('notification', (msg) => {
        if (msg.channel === REVISION_CHANNEL && msg.payload) this.observe(Number(msg.payload), 'notify');
      });
      const client = c;
      client.on('error', (err) => this.dropped(client, err));
      client.on('end', () => this.dropped(client));
      await client.query(`LISTEN ${REVISION_CHANNEL}`);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      if (this.stopped) return void (await client.end().catch(() => {}));
      this.client = client;
      this.pid = rows[0].pid;
      this.reconnectDelay = this.reconnectMs;
      // Whatever was notified before LISTEN took effect is lost: read the revision now that it has.
      this.observe(await readRevision(this.opts.sql), 'reconnect');
      this.schedulePoll();
    } catch (err) {
      this.opts.onError?.(err as Error);
      await c?.end().catch(() => {});
      this.scheduleReconnect();
    }
  }

  private dropped(c: pg.Client, err?: Error): void {
    if (this.client !== c) return;
    this.client = undefined;
    this.pid = null;
    if (err) this.opts.onError?.(err);
    c.end().catch(() => {});
    this.schedulePoll();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.schedulePoll();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.listen();
    }, this.reconnectDelay);
    this.reconnectTimer.unref();
    this.reconnectDelay = Math.min(30_000, this.reconnectDelay * 2);
  }

  /** (Re)arms the poll at the period the LISTEN state calls for. */
  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    const period = this.listening ? this.safetyPollMs : this.pollMs;
    if (this.stopped || period <= 0) return;
    this.pollTimer = setTimeout(() => void this.poll(), period);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    try {
      this.observe(await readRevision(this.opts.sql), 'poll');
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
    this.schedulePoll();
  }
}

/** The LISTEN connection's application_name: an operator (or a fault test) finds a replica's listener in pg_stat_activity by its pid. */
export const listenerName = (pid = process.pid) => `sealab listen pid=${pid}`;

async function connectClient(url: string): Promise<pg.Client> {
  const c = new pg.Client({ ...pgClientConfig(url), application_name: listenerName() });
  try {
    await c.connect();
  } catch (err) {
    await c.end().catch(() => {});
    throw err;
  }
  return c;
}
