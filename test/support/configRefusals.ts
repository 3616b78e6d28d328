import { strict as assert } from 'node:assert';
import { ExitCode, JailError } from '../../src/errors';

/** A small valid config that differs from the defaults. */
export const GOOD_TEXT = '[jail]\nmode = shared\nname_template = shared\n';

/** Asserts a config error whose message is exactly `message`, or starts with `message` when it ends in ': '. */
export function rejects(run: () => unknown, message: string, fragment?: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof JailError, `not a JailError: ${String(error)}`);
    assert.equal(error.exitCode, ExitCode.config);
    if (message.endsWith(': ')) assert.ok(error.message.startsWith(message), `${error.message}\n  does not start with\n${message}`);
    else assert.equal(error.message, message);
    if (fragment !== undefined) assert.ok(error.message.includes(fragment), `${error.message}\n  does not include\n${fragment}`);
    return true;
  });
}
