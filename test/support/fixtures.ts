import { type ChildProcess, type SpawnOptions, type SpawnSyncOptions, spawn } from 'node:child_process';
import { JAILSH } from '../../src/host/paths';
import { type Ran, run, runAsync, type Timed } from './host';
import { type Sshd, sshOptions } from './sshd';
import { createUser, removeUser, type TestUser, type UserOptions } from './users';

/**
 * The end-to-end suites' users: jailed unless their options say otherwise
 * (createUser's groups and shell). Made through these, every user is removed
 * with everything docker-jail keeps for their uid by an `after` hook of the
 * suite that made them: mocha runs it even when a test failed or timed out.
 */

/**
 * In a describe body: a jailed user made before the suite's tests (a `before`
 * hook, where this call stands among the suite's hooks) and removed after
 * them. The object is filled in when that hook runs: read it in hooks and tests.
 */
export function jailedUser(options: UserOptions = {}): TestUser {
  const user = {} as TestUser;
  before(() => {
    Object.assign(user, createUser(options));
  });
  after(() => {
    if (user.name !== undefined) removeUser(user);
  });
  return user;
}

export interface JailedUsers {
  /** A user made now, in a hook or a test of the suite, removed after the suite. */
  make(options?: UserOptions): TestUser;
  /** Those made so far, in order (still listed once removed). */
  readonly made: readonly TestUser[];
}

/** In a describe body: users made on demand by its hooks and tests, all removed after the suite. */
export function jailedUsers(): JailedUsers {
  const made: TestUser[] = [];
  after(() => {
    const failures: string[] = [];
    for (const user of made) {
      try {
        removeUser(user);
      } catch (error) {
        failures.push(`${user.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) throw new Error(`could not remove every test user:\n${failures.join('\n')}`);
  });
  return {
    make(options?: UserOptions): TestUser {
      const user = createUser(options);
      made.push(user);
      return user;
    },
    made,
  };
}

export type LoginVia =
  /** `su -l USER -c COMMAND`: PAM (the hook at open and close), then the launcher. */
  | { via: 'su' }
  /** `ssh USER@127.0.0.1 COMMAND` through a test sshd: sshd, PAM and the launcher. */
  | { via: 'ssh'; sshd: Sshd }
  /** The launcher alone as the user (setpriv, no PAM): what a service that runs the login shell directly does. */
  | { via: 'launcher' };

/** The program and arguments of a login of `user` running `command`, for callers that spawn it themselves. */
export function loginCommand(user: TestUser, command: string, how: LoginVia): { file: string; args: string[] } {
  switch (how.via) {
    case 'su':
      return { file: '/bin/su', args: ['-l', user.name, '-c', command] };
    case 'ssh':
      return { file: '/usr/bin/ssh', args: [...sshOptions(how.sshd, user), `${user.name}@127.0.0.1`, command] };
    case 'launcher':
      return { file: '/usr/bin/setpriv', args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', JAILSH, '-c', command] };
  }
}

/** Logs `user` in with `command` and waits for it to end; never throws on a non-zero exit. */
export function loginAs(user: TestUser, command: string, how: LoginVia = { via: 'su' }, options: SpawnSyncOptions = {}): Ran {
  const { file, args } = loginCommand(user, command, how);
  return run(file, args, how.via === 'ssh' ? { maxBuffer: 64 * 1024 * 1024, ...options } : options);
}

/** Like loginAs, leaving the event loop free: for logins raced against each other or against the test. */
export function loginAsync(user: TestUser, command: string, how: LoginVia = { via: 'su' }, options: Parameters<typeof runAsync>[2] = {}): Promise<Timed> {
  const { file, args } = loginCommand(user, command, how);
  return runAsync(file, args, options);
}

/** A login left running (a session the test ends or waits for); its output is discarded unless `options` says otherwise. */
export function spawnLogin(user: TestUser, command: string, how: LoginVia = { via: 'su' }, options: SpawnOptions = { stdio: 'ignore' }): ChildProcess {
  const { file, args } = loginCommand(user, command, how);
  return spawn(file, args, options);
}
