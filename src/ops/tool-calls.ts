/** One MCP tool call as the registration wrapper saw it. */
export interface ToolCall {
  tool: string;
  /** ok, input_required or the error code. */
  outcome: string;
  durationMs: number;
  /** Wall-clock ms since the epoch. */
  at: number;
}

/** The last N tool calls of this process, in memory (a ring: recording is O(1) and never grows). */
export class ToolCallLog {
  private readonly ring: (ToolCall | undefined)[];
  private next = 0;

  constructor(readonly capacity = 2000) {
    this.ring = new Array(capacity);
  }

  record(tool: string, outcome: string, durationMs: number, at = Date.now()): void {
    this.ring[this.next] = { tool, outcome, durationMs, at };
    this.next = (this.next + 1) % this.capacity;
  }

  /** The calls kept, oldest first, made at or after `since` (wall-clock ms). */
  since(since: number): ToolCall[] {
    const ordered = [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return ordered.filter((c): c is ToolCall => c !== undefined && c.at >= since);
  }
}
