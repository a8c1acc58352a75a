import type { Experiment, Surface } from '../../domain/schemas.js';
import type { Logger } from '../../logger.js';
import type { BackendState, ContentDelivery, ContentState, ExperimentBackend, ServingConfig } from '../../systems/contracts.js';
import { backendStatusOf, backendWrite, contentWrite } from '../../systems/desired-state.js';
import type { EmbeddedBackend, EmbeddedContent } from '../../systems/embedded.js';
import type { AssignmentIndex } from './assignment-index.js';

/**
 * The serving configuration both systems hold when they mirror these experiment records (every
 * deploy, pause and stop completed): what a single process with embedded systems serves, and
 * what an older database is adopted with (see adoptExperiments).
 */
export function mirrorOf(experiments: Experiment[], at = new Date(0).toISOString()): ServingConfig {
  const deployed = experiments.filter((e) => e.status !== 'draft');
  return {
    backend: deployed.map((e): BackendState => ({ experimentId: e.id, ...backendWrite(e, backendStatusOf(e), e), updatedAt: at })),
    content: deployed.map((e): ContentState => ({ experimentId: e.id, ...contentWrite(e, e.status === 'running'), updatedAt: at })),
  };
}

type Side<Embedded, Remote> = { embedded: Embedded } | { remote: Remote };

export interface ServingSources {
  backend: Side<EmbeddedBackend, ExperimentBackend>;
  content: Side<EmbeddedContent, ContentDelivery>;
}

/**
 * Keeps the assignment index equal to what the two systems hold. An embedded system is read
 * synchronously on every change (a write and the next request agree); a remote one is polled and
 * cached, and refreshed at once after this process writes to it. A system that cannot be reached
 * leaves the last good configuration serving, and the staleness is reported, never thrown.
 */
export class ServingSync {
  private remoteBackend: BackendState[] | undefined;
  private remoteContent: ContentState[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  /** When the configuration last came from every system (ISO), and the last failure, for /readyz-style reporting. */
  status: { syncedAt: string | null; error: string | null } = { syncedAt: null, error: null };

  constructor(
    private readonly sources: ServingSources,
    private readonly index: AssignmentIndex,
    private readonly surfaces: () => Surface[],
    private readonly logger: Logger,
    /** Told every configuration compiled (src/ops: revision, age, propagation time). */
    private readonly onCompiled: (states: Iterable<{ updatedAt: string }>) => void = () => undefined,
  ) {}

  get remote(): boolean {
    return 'remote' in this.sources.backend || 'remote' in this.sources.content;
  }

  /** Recompiles from the embedded systems now and the remote ones' last answers (no I/O wait). */
  recompile(): void {
    const b = this.sources.backend;
    const c = this.sources.content;
    // A remote system not heard from yet contributes nothing: its surfaces render their defaults (never a variant it may not run).
    const backend = 'embedded' in b ? b.embedded.listSync() : (this.remoteBackend ?? []);
    const content = 'embedded' in c ? c.embedded.listSync() : (this.remoteContent ?? []);
    try {
      this.index.compile(this.surfaces(), { backend, content });
      this.onCompiled([...backend, ...content]);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'assignment config rebuild failed; serving the last good one');
    }
  }

  /** Fetches the remote systems' state, then recompiles. Never throws: a failure keeps the last good config. */
  async refresh(): Promise<boolean> {
    const b = this.sources.backend;
    const c = this.sources.content;
    try {
      const [backend, content] = await Promise.all(['remote' in b ? b.remote.list() : undefined, 'remote' in c ? c.remote.list() : undefined]);
      if (backend) this.remoteBackend = backend;
      if (content) this.remoteContent = content;
      this.recompile();
      this.status = { syncedAt: new Date().toISOString(), error: null };
      if (this.failing) this.logger.info('serving configuration synced again');
      this.failing = false;
      return true;
    } catch (err) {
      this.status = { ...this.status, error: (err as Error).message };
      if (!this.failing)
        this.logger.warn({ err: (err as Error).message, lastSyncedAt: this.status.syncedAt }, 'serving configuration sync failed; serving the last good one');
      this.failing = true;
      return false;
    }
  }

  /** Polls the remote systems every intervalMs (nothing to poll when both are embedded); returns a stop function. */
  start(intervalMs: number): () => void {
    if (!this.remote || intervalMs <= 0) return () => undefined;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
    return () => clearInterval(this.timer);
  }
}
