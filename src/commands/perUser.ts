import { JailError } from '../errors';
import type { CommandIo } from './command';
import { printable } from './printable';

/**
 * Runs a command's action for each user in turn. One user's failure is thrown
 * as it is (one line, as every command fails); with several, the others still
 * run: each failure is a line on stderr naming its user, and the last line names
 * every user that failed. Returns the exit status: 0 when every user succeeded,
 * else the first failure's (a usage error stays 2, a refusal 77).
 */
export async function forEachUser(command: string, names: readonly string[], io: CommandIo, action: (name: string) => Promise<void>): Promise<number> {
  if (names.length === 1) {
    await action(names[0]);
    return 0;
  }
  const failed: string[] = [];
  let status = 0;
  for (const name of names) {
    try {
      await action(name);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      io.stderr.write(`docker-jail: ${printable(message.startsWith(`${name}: `) ? message : `${name}: ${message}`)}\n`);
      failed.push(name);
      if (status === 0) status = error instanceof JailError ? error.exitCode : 1;
    }
  }
  if (failed.length > 0) io.stderr.write(`docker-jail: ${command} failed for ${failed.length} of ${names.length} users: ${printable(failed.join(' '))}\n`);
  return status;
}
