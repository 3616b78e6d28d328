import type { LoginIo } from '../session/relay';

/** The process's streams, each made on first use (main.ts says why): a login hands them to its jail untouched. */
export type CommandIo = LoginIo;

/** One line of the top-level usage: what to type after `docker-jail`, and what it does. */
export interface UsageLine {
  synopsis: string;
  summary: string;
}

/**
 * One command of docker-jail, declared once: the top-level usage and its
 * `--help` are generated from this (dispatch.ts), never written twice.
 */
export interface Command {
  /** The word after `docker-jail`. */
  readonly name: string;
  /** For the one name two commands share (`shell`): whether these arguments, after the name, are this command's. */
  readonly takes?: (args: readonly string[]) => boolean;
  /** Its lines in the top-level usage. */
  readonly usage: readonly UsageLine[];
  /**
   * What `docker-jail NAME --help` prints, from `usage: docker-jail NAME` on; also what a usage error says.
   * null for a command only the system starts (pam_exec), where `--help` is an argument like any other.
   */
  readonly help: string | null;
  /** Refused (exit 77) to anyone but root, before its arguments are read. A command that checks for itself says so. */
  readonly rootOnly: boolean;
  /**
   * Recorded in authpriv (who, arguments, exit status) by dispatch: every command that changes something as root
   * (users, jails, images, the config, a shell in a jail). Read-only ones are not. A function decides by the
   * arguments after the name, for a command only some of whose subcommands change things.
   */
  readonly audited: boolean | ((args: readonly string[]) => boolean);
  /** Reads the arguments (a usage error throws, exit 2), makes one call into the domain and prints; returns the exit status. */
  run(args: string[], io: CommandIo): Promise<number>;
}
