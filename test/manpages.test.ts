/**
 * The manuals' EXIT STATUS against the sources: every status a program of the
 * package can end with is listed, so a script's author can rely on the page.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ExitCode } from '../src/errors';

/** The statuses a page's EXIT STATUS lists, one `.TP` `.B N` entry each. */
function listedStatuses(page: string): Set<number> {
  const text = readFileSync(page, 'utf8');
  const section = /^\.SH EXIT STATUS\n([\s\S]*?)^\.SH /m.exec(text);
  assert.ok(section, `${page} has no EXIT STATUS section`);
  return new Set([...section[1].matchAll(/^\.TP\n\.B (\d+)\n/gm)].map((m) => Number(m[1])));
}

/** Every number a regular expression's first group finds in a source file. */
function numbersIn(file: string, pattern: RegExp): number[] {
  return [...readFileSync(file, 'utf8').matchAll(pattern)].map((m) => Number(m[1]));
}

const missing = (listed: Set<number>, used: number[]) => [...new Set(used)].filter((code) => !listed.has(code)).sort((a, b) => a - b);

describe('the manuals list every exit status the programs use', () => {
  const common = [0, 1, ...Object.values(ExitCode)];

  it('docker-jail(8): success, failure and every status of src/errors.ts (usage, EX_UNAVAILABLE, EX_NOPERM, EX_CONFIG)', () => {
    const listed = listedStatuses('man/docker-jail.8');
    assert.ok(listed.size >= 6, 'the check found the entries');
    assert.deepEqual(missing(listed, common), []);
  });

  it("jailsh(8): those, the launcher's own, attach's and the agent's (what a jailed login can end with)", () => {
    const launcher = numbersIn('launcher/jailsh.c', /\b(?:die|_exit)\((\d+)\b/g);
    assert.ok(launcher.includes(126) && launcher.includes(2), 'the check read the launcher');
    const attach = numbersIn('agent/attach.c', /^#define EXIT_\w+ (\d+)$/gm);
    assert.ok(attach.length >= 4, 'the check read attach');
    // The agent's session child, when the program cannot start (the agent's own exit ends the jail, not a session).
    const agent = numbersIn('agent/agent.c', /\b_exit\((\d+)\)/g).filter((code) => code > 1);
    const hangup = numbersIn('src/session/hangup.ts', /process\.exit\((\d+)\)/g);
    assert.deepEqual(missing(listedStatuses('man/jailsh.8'), [...common.filter((c) => c !== 0), ...launcher, ...attach, ...agent, ...hangup]), []);
  });
});
