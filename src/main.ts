import type { CommandIo } from './commands/command';
import { dispatch } from './commands/dispatch';
import { printable } from './commands/printable';
import { isLauncherShell } from './commands/registry';
import { JailError } from './errors';
import { scrubEnvironment } from './policy/environment';

// In a single executable argv is [executable, executable, ...args]; under node it is [node, script, ...args].
const args = process.argv.slice(2);
const name = isLauncherShell(args) ? 'jailsh' : 'docker-jail';
// For the audit records of administrators' commands only (dispatch), read before anything is scrubbed.
const caller = { sudoUser: process.env.SUDO_USER };
scrubEnvironment(process.env, isLauncherShell(args) ? 'shell' : args[0] === 'shell' ? 'admin-shell' : args[0]);

// Made on first use: a session handed to the jail's agent must find its fds untouched (Node makes a pipe
// non-blocking, for everyone sharing it, the moment process.stdin is read).
const io: CommandIo = {
  get stdin() {
    return process.stdin;
  },
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
};

/** What a user sees of any failure: one line on stderr and a non-zero exit, never a shell (fail closed). */
function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  // Messages name users, homes and shells from the user database: escaped, as in every listing (printable).
  process.stderr.write(`${name}: ${printable(name === 'jailsh' ? message.split('\n')[0] : message, true)}\n`);
  process.exitCode = error instanceof JailError ? error.exitCode : 1;
}

process.on('uncaughtException', (error) => {
  fail(error);
  process.exit(); // nothing is in a state worth continuing from
});

dispatch(args, io, caller).then((status) => {
  process.exitCode = status;
}, fail);
