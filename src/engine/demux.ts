import { Writable } from 'node:stream';

/** Where the frames of a non-tty exec go: 1 is stdout, 2 is stderr. */
export interface DemuxTargets {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const HEADER = 8;

/**
 * Splits Docker's multiplexed exec stream (8-byte header: stream id, 3 zero
 * bytes, big-endian length) into stdout and stderr, byte-exact, and holds the
 * engine back while the reader of our stdout is slower than the jail.
 */
export class DemuxStream extends Writable {
  private pending: Buffer = Buffer.alloc(0);
  private frameLeft = 0;
  private frameTarget: NodeJS.WritableStream | null = null;

  constructor(private readonly targets: DemuxTargets) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    let waitFor: NodeJS.WritableStream | null = null;
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.frameLeft === 0) {
        if (data.length < HEADER) {
          this.pending = Buffer.from(data);
          break;
        }
        const kind = data[0];
        this.frameLeft = data.readUInt32BE(4);
        // 0 is stdin (never sent to us), 1 stdout, 2 stderr; anything else is a protocol error.
        if (kind !== 1 && kind !== 2) {
          done(new Error(`unexpected stream id ${kind} from the engine`));
          return;
        }
        this.frameTarget = kind === 1 ? this.targets.stdout : this.targets.stderr;
        data = data.subarray(HEADER);
        continue;
      }
      const take = Math.min(this.frameLeft, data.length);
      const target = this.frameTarget;
      if (target === null) {
        done(new Error('a frame without its header from the engine'));
        return;
      }
      if (!target.write(data.subarray(0, take))) waitFor = target;
      this.frameLeft -= take;
      data = data.subarray(take);
    }
    if (waitFor === null) done();
    else waitFor.once('drain', () => done());
  }
}
