/** How a long command (an image build) shows what it is doing. */
export interface Progress {
  /** A stage of the work: always kept on screen. */
  step(text: string): void;
  /** A tool's output line within the current stage: the latest one only, on a terminal. */
  detail(text: string): void;
  /** Clears any status line; called once when the work ends, failed or not. */
  end(): void;
}

export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/**
 * On a terminal: each step on its own numbered line, and one status line
 * below it rewritten in place with the latest tool output and the time the
 * step has taken so far. Elsewhere (a pipe, a log, a timer's journal):
 * plain lines, one per step and per tool line, nothing rewritten.
 */
export function progressFor(output: ProgressOutput, clock: () => number = Date.now): Progress {
  return output.isTTY ? new TerminalProgress(output, clock) : plainProgress(output);
}

function plainProgress(output: ProgressOutput): Progress {
  return {
    // Logs and pipes end up on terminals too (`| tee`, `cat log`): no control character there either.
    step: (text) => output.write(`${printable(text)}\n`),
    detail: (text) => output.write(`  ${printable(text)}\n`),
    end: () => undefined,
  };
}

class TerminalProgress implements Progress {
  private steps = 0;
  private stepStarted: number;
  private statusShown = false;

  constructor(
    private readonly output: ProgressOutput,
    private readonly clock: () => number,
  ) {
    this.stepStarted = clock();
  }

  step(text: string): void {
    this.clearStatus();
    this.steps += 1;
    this.stepStarted = this.clock();
    this.output.write(`\x1b[1m[${this.steps}]\x1b[0m ${printable(text)}\n`);
  }

  detail(text: string): void {
    const elapsed = `${Math.floor((this.clock() - this.stepStarted) / 1000)}s`;
    // One line that fits: a status line that wraps can no longer be rewritten in place.
    const room = Math.max(10, (this.output.columns ?? 80) - elapsed.length - 4);
    const shown = Array.from(printable(text)); // by code point: a cut never splits a surrogate pair
    const fitted = shown.length > room ? `${shown.slice(0, room - 1).join('')}…` : shown.join('');
    this.output.write(`\r\x1b[K  ${elapsed} ${fitted}`);
    this.statusShown = true;
  }

  end(): void {
    this.clearStatus();
  }

  private clearStatus(): void {
    if (this.statusShown) this.output.write('\r\x1b[K');
    this.statusShown = false;
  }
}

/** A tool's output may hold control characters of its own: none of them reach the administrator's terminal. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');
}
