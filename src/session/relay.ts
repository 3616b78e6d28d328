import { spawnSync } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { DemuxStream } from '../engine/demux';

/** The three standard streams of the login, as Node sees them. */
export interface LoginIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export interface RelayHandlers {
  /** Called with the new size at the start and on every SIGWINCH. */
  resize(columns: number, rows: number): void;
}

/** Default when the login's stdout is not a terminal but stdin is. */
const FALLBACK_SIZE = { columns: 80, rows: 24 };

/**
 * Relays a tty session: the login's terminal in raw mode, bytes both ways
 * untouched (the pty inside the jail does the line discipline), and the window
 * size followed. Resolves when the jail side closes. The returned function puts
 * the terminal back as it was.
 */
export function relayTerminal(output: Readable, input: Writable, io: LoginIo, handlers: RelayHandlers): { done: Promise<void>; restore: () => void } {
  const sendSize = () => {
    const [columns, rows] = io.stdout.isTTY ? io.stdout.getWindowSize() : [FALLBACK_SIZE.columns, FALLBACK_SIZE.rows];
    handlers.resize(columns, rows);
  };
  io.stdin.setRawMode(true);
  rawOutput();
  sendSize();
  process.on('SIGWINCH', sendSize);
  io.stdin.pipe(input);
  output.pipe(io.stdout, { end: false });
  const restore = () => {
    process.removeListener('SIGWINCH', sendSize);
    io.stdin.unpipe(input);
    if (io.stdin.isTTY) io.stdin.setRawMode(false);
  };
  return { done: streamClosed(output), restore };
}

/**
 * libuv's raw mode leaves output post-processing (ONLCR) on, so every newline
 * the jail's own pty has already turned into CR LF would gain a second CR.
 * Output must pass untouched; setRawMode(false) later restores the saved modes.
 */
function rawOutput(): void {
  spawnSync('/bin/stty', ['-opost'], { stdio: [0, 'ignore', 'ignore'], env: {}, timeout: 5000 });
}

/**
 * Relays a non-tty session: stdin byte-exact into the jail with its EOF passed
 * on (half-close), stdout and stderr split apart again, with back-pressure.
 */
export function relayPipes(output: Readable, input: Writable, io: LoginIo): { done: Promise<void> } {
  io.stdin.pipe(input); // ends the exec's stdin on EOF
  const demux = new DemuxStream({ stdout: io.stdout, stderr: io.stderr });
  output.pipe(demux);
  const done = streamClosed(output).then(
    () =>
      new Promise<void>((resolve) => {
        // A connection reset closes the output without an end, which pipe() would not pass on.
        if (!demux.writableEnded) demux.end();
        // Wait until the demuxer has handed every byte to stdout/stderr.
        if (demux.writableFinished) resolve();
        else {
          demux.once('finish', () => resolve());
          demux.once('error', () => resolve());
        }
      }),
  );
  return { done };
}

/**
 * Resolves once the stream has ended or closed, also when that happened before
 * the relay began: an exec with no output that ends while the login still
 * waits for it ends its connection at once, with no one reading.
 */
function streamClosed(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let settled = false;
    const finish = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  });
}
