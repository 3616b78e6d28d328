import * as pty from 'node-pty';

/** A real terminal driven from the test: what a person at a keyboard would type and see. */
export class Terminal {
  private readonly proc: pty.IPty;
  private output = '';
  readonly exited: Promise<number>;

  constructor(file: string, args: string[], size = { cols: 100, rows: 30 }) {
    this.proc = pty.spawn(file, args, {
      name: 'xterm-256color',
      cols: size.cols,
      rows: size.rows,
      env: { PATH: '/usr/bin:/bin', TERM: 'xterm-256color', LANG: 'C.UTF-8' },
    });
    this.proc.onData((data) => (this.output += data));
    this.exited = new Promise((resolve) => this.proc.onExit(({ exitCode }) => resolve(exitCode)));
  }

  get pid(): number {
    return this.proc.pid;
  }

  get text(): string {
    return this.output;
  }

  write(data: string): void {
    this.proc.write(data);
  }

  resize(cols: number, rows: number): void {
    this.proc.resize(cols, rows);
  }

  /** Waits until the output (since `from`) matches, and returns the match. */
  async expect(pattern: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.slice(from).match(pattern);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern}; it showed:\n${this.output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Runs a command at the shell prompt and returns what it printed between two markers. */
  async command(line: string, timeoutMs = 15_000): Promise<string> {
    const tag = Math.random().toString(36).slice(2, 8);
    const from = this.output.length;
    // The markers are built by the shell, so the echo of the typed line never matches them.
    this.write(`echo "<${tag}""-start>"; ${line}; echo "<${tag}""-end>"\r`);
    const match = await this.expect(new RegExp(`<${tag}-start>\\r?\\n([\\s\\S]*?)<${tag}-end>`), timeoutMs, from);
    return match[1].replace(/\r/g, '');
  }

  kill(signal = 'SIGKILL'): void {
    this.proc.kill(signal);
  }
}
