import { isatty } from 'node:tty';
import { auditLog, formatRecord } from '../audit/syslog';
import { loadConfig } from '../config/load';
import { connectEngine } from '../engine/client';
import { startExec } from '../engine/exec';
import { ExitCode, JailError } from '../errors';
import { uidOfUser } from '../identity/nss';
import { findJailOf } from '../jail/jail';
import { relayUntilEnd } from './hangup';
import { jailArgv } from './login';
import type { LoginIo } from './relay';

/**
 * `docker-jail shell USER`: an administrator's root shell inside a user's
 * running jail, for support, audited. Root there has no capabilities (the
 * jail dropped them all), so it sees what the jail sees, not the host.
 */
export async function runAdminShell(args: string[], io: LoginIo): Promise<number> {
  // The launcher always passes --login or --no-login after `shell`, so a jailed user's login never ends up here.
  if (process.getuid?.() !== 0) {
    throw new JailError('docker-jail administration commands must be run as root', ExitCode.refused);
  }
  if (args.length !== 1 || args[0].startsWith('-')) throw new JailError('usage: docker-jail shell USER', ExitCode.usage);
  const name = args[0];
  const uid = uidOfUser(name);
  if (uid === null) throw new JailError(`no such user: ${name}`, ExitCode.usage);
  const config = loadConfig();
  const engine = connectEngine(config.engine.socket);
  // Found by uid and name: a removed account's jail, its uid since reused, is never entered for the new one.
  const jail = await findJailOf(engine, config, uid, name);
  if (jail === null || jail.state !== 'running') {
    throw new JailError(`${name} has no running jail (it starts at their next login, or now with: docker-jail enable --now ${name})`);
  }
  const tty = isatty(0);
  const record = { user: 'root', uid: 0, jail: jail.name, tty, command: `admin shell in the jail of ${name}` };
  await auditLog(formatRecord('start', record), 'notice');
  const env = [
    'HOME=/root',
    'USER=root',
    'LOGNAME=root',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...(process.env.TERM ? [`TERM=${process.env.TERM}`] : []),
  ];
  const started = Date.now();
  const session = await startExec(engine, { jailId: jail.id, uid: 0, workdir: '/', env, argv: jailArgv('/bin/bash', { login: true, command: null }), tty });
  const { status, hangup } = await relayUntilEnd(session, io, tty, process.ppid, async () => undefined);
  await auditLog(formatRecord('end', { ...record, exitStatus: status, durationMs: Date.now() - started, hangup }), 'notice');
  return status;
}
