/** How a command shows a view refreshed in place, like top(1): on a terminal, or as plain text when piped. */

export interface LiveView<T> {
  /** Gathers what is shown; an error is shown in its place on a terminal, and ends the command in a pipe. */
  fetch(): Promise<T>;
  /** The lines shown for it in this order, each already safe for a terminal (printable); `live`: on the refreshed screen. */
  render(data: T, order: string, live: boolean): string[];
  /** The keys that choose an order, and the order each chooses. */
  orders: Readonly<Record<string, string>>;
  /** The order shown first. */
  order: string;
}

export interface LiveOptions {
  /** Between the end of one refresh and the start of the next. */
  intervalMs: number;
  /** How many refreshes before it ends by itself; null: until q (on a terminal), 1 (otherwise). */
  iterations: number | null;
  /** Plain output even on a terminal (top's -b). */
  batch: boolean;
}

export interface LiveInput {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface LiveOutput {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  write(text: string): unknown;
}

/** What the live screen listens to besides its input: SIGINT, SIGTERM, SIGWINCH and the process's exit (process itself). */
export interface LiveSignals {
  on(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
}

const ALTERNATE_SCREEN = '\x1b[?1049h\x1b[?25l'; // and the cursor hidden
const MAIN_SCREEN = '\x1b[?25h\x1b[?1049l';
const QUIT_KEYS = new Set(['q', 'Q', '\x03']); // Ctrl-C arrives as a byte in raw mode
const SIGNAL_STATUS: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** Shows the view until it is done; returns the exit status (0, or 128 + the signal that ended it). */
export async function showLive<T>(
  view: LiveView<T>,
  io: { stdin: LiveInput; stdout: LiveOutput },
  options: LiveOptions,
  signals: LiveSignals = process,
): Promise<number> {
  if (options.batch || !io.stdout.isTTY) return showPlain(view, io.stdout, options);
  return new LiveScreen(view, io.stdin, io.stdout, options, signals).run();
}

/** A pipe, a log or -b: the table as text, once (or -n times), nothing rewritten. */
async function showPlain<T>(view: LiveView<T>, output: LiveOutput, options: LiveOptions): Promise<number> {
  const iterations = options.iterations ?? 1;
  for (let i = 0; i < iterations; i++) {
    if (i > 0) {
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
      output.write('\n');
    }
    output.write(`${view.render(await view.fetch(), view.order, false).join('\n')}\n`);
  }
  return 0;
}

class LiveScreen<T> {
  private order: string;
  private data: T | null = null;
  private error: string | null = null;
  private refreshes = 0;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  private restored = false;
  private finished: (status: number) => void = () => undefined;
  private readonly handlers: [string, () => void][];

  constructor(
    private readonly view: LiveView<T>,
    private readonly input: LiveInput,
    private readonly output: LiveOutput,
    private readonly options: LiveOptions,
    private readonly signals: LiveSignals,
  ) {
    this.order = view.order;
    this.handlers = [
      ...Object.entries(SIGNAL_STATUS).map(([signal, status]): [string, () => void] => [signal, () => this.finish(status)]),
      ['SIGWINCH', () => this.draw()],
      // A failure that ends the process anyway (main's uncaughtException) still gives the terminal back.
      ['exit', () => this.restore()],
    ];
  }

  run(): Promise<number> {
    return new Promise((resolve) => {
      this.finished = resolve;
      for (const [event, handler] of this.handlers) this.signals.on(event, handler);
      this.output.write(ALTERNATE_SCREEN);
      if (this.input.isTTY) {
        this.input.setRawMode?.(true);
        this.input.on('data', this.onKeys);
        this.input.resume();
      }
      void this.refresh();
    });
  }

  private readonly onKeys = (chunk: Buffer | string): void => {
    for (const key of typeof chunk === 'string' ? chunk : chunk.toString('latin1')) {
      if (QUIT_KEYS.has(key)) {
        this.finish(0);
        return;
      }
      const order = this.view.orders[key];
      if (order !== undefined && order !== this.order) {
        this.order = order;
        this.draw();
      }
    }
  };

  private async refresh(): Promise<void> {
    try {
      this.data = await this.view.fetch();
      this.error = null;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    if (this.done) return;
    this.refreshes += 1;
    this.draw();
    if (this.options.iterations !== null && this.refreshes >= this.options.iterations) this.finish(0);
    else this.timer = setTimeout(() => void this.refresh(), this.options.intervalMs);
  }

  /** The whole screen rewritten from its top-left corner, each line cut to the width, what is below cleared. */
  private draw(): void {
    if (this.done) return;
    const columns = this.output.columns ?? 80;
    const rows = this.output.rows ?? 24;
    const lines = this.data === null ? [] : this.view.render(this.data, this.order, true);
    // The error replaces nothing: the last table stays under it until the next refresh works. Escaped like every cell.
    if (this.error !== null) lines.unshift(`error: ${this.error.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')}`);
    if (lines.length === 0) lines.push('…');
    const shown = lines.slice(0, rows).map((line) => `${Array.from(line).slice(0, columns).join('')}\x1b[K`);
    this.output.write(`\x1b[H${shown.join('\n')}\x1b[J`);
  }

  private finish(status: number): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.restore();
    for (const [event, handler] of this.handlers) this.signals.removeListener(event, handler);
    this.finished(status);
  }

  /** The terminal as it was: cooked input, the cursor shown, the main screen back. */
  private restore(): void {
    if (this.restored) return;
    this.restored = true;
    if (this.input.isTTY) {
      this.input.removeListener('data', this.onKeys);
      this.input.setRawMode?.(false);
      this.input.pause();
    }
    this.output.write(MAIN_SCREEN);
  }
}
