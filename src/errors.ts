/**
 * The one error type of docker-jail: a short human sentence that is shown to
 * the user as it is, and the exit status that goes with it.
 */
export class JailError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'JailError';
  }
}

/** Exit statuses shared by every entry point, so scripts can tell failures apart. */
export const ExitCode = {
  failure: 1,
  usage: 2,
  refused: 77, // EX_NOPERM: the caller may not do this
  config: 78, // EX_CONFIG: the configuration is wrong
  unavailable: 69, // EX_UNAVAILABLE: the engine or the image is missing
} as const;
