import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Logger } from '../../logger.js';
import type { AckMessage, BatchMessage, WorkerInit } from './exposure-worker-thread.js';
import type { ExposureWriter, Pending } from './exposure-writer.js';
import { threadEntry } from './thread-entry.js';

type Waiter = { resolve: (r: 'written') => void; reject: (err: Error) => void };

/**
 * Served exposures written by a worker thread with its own connection to the SQLite file, so the event
 * loop that answers OFREP, layout and assignment never runs a write. A batch travels as one transferred
 * buffer (JSON rows), is written in one transaction there, and is acknowledged on a port and in a shared
 * counter. The thread starts on the first batch (a process that serves nothing never starts it) and again
 * after it died; its failures reject the batches in flight, which the buffer queues again.
 */
export class WorkerExposureWriter implements ExposureWriter {
  readonly kind = 'worker';
  private worker: Worker | undefined;
  private acks: MessagePort | undefined;
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private seq = 0;
  private readonly waiting = new Map<number, Waiter>();
  private closing = false;

  constructor(
    private readonly dbFile: string,
    private readonly logger: Logger,
    readonly maxInFlight = 2,
  ) {}

  write(batch: Pending[], now: string): Promise<'written'> {
    const worker = this.worker ?? this.start();
    const seq = ++this.seq;
    const data = encoder.encode(JSON.stringify(batch.map((p) => [p.experimentId, p.unitId, p.variant, p.ts])));
    const message: BatchMessage = { seq, now, data };
    worker.postMessage(message, [data.buffer as ArrayBuffer]);
    return new Promise((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
  }

  settleSync(timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.receiveAcks();
      if (!this.waiting.size) return true;
      const left = deadline - Date.now();
      if (left <= 0 || !this.worker) return false;
      // Wakes when the thread settles a batch (Atomics.notify), or every 50 ms to look again.
      Atomics.wait(this.state, 0, Atomics.load(this.state, 0), Math.min(left, 50));
    }
  }

  close(): void {
    this.closing = true;
    this.receiveAcks();
    this.worker?.postMessage({ close: true } satisfies BatchMessage);
    this.worker = undefined;
  }

  private start(): Worker {
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = { dbFile: this.dbFile, acks: port2, state: this.state };
    const worker = new Worker(threadEntry('exposure-worker-thread'), { eval: true, workerData: init, transferList: [port2], execArgv: [] });
    worker.unref(); // the HTTP server keeps a serving process alive; a CLI or a test ends when its work does
    port1.unref();
    port1.on('message', (m: AckMessage) => this.settle(m));
    const died = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      this.receiveAcks(port1);
      for (const [seq, w] of this.waiting) {
        this.waiting.delete(seq);
        w.reject(err);
      }
    };
    worker.on('error', (err) => {
      this.logger.error({ err: err.message }, 'the exposure writer thread failed: its batches are queued again and it restarts on the next flush');
      died(err);
    });
    worker.on('exit', (code) => {
      if (!this.closing || this.waiting.size) died(new Error(`the exposure writer thread exited (${code})`));
    });
    this.worker = worker;
    this.acks = port1;
    return worker;
  }

  private receiveAcks(port = this.acks): void {
    if (!port) return;
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) this.settle(m.message as AckMessage);
  }

  private settle(m: AckMessage): void {
    const w = this.waiting.get(m.seq);
    if (!w) return;
    this.waiting.delete(m.seq);
    if (m.ok) w.resolve('written');
    else w.reject(new Error(m.error));
  }
}

const encoder = new TextEncoder();
