import { type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, JailError } from '../errors';
import { EngineApi } from './api';
import type { EngineClient } from './interfaces';

/** Control calls must answer within this time; a stopped or frozen engine must not hang a login. */
export const CONTROL_TIMEOUT_MS = 20_000;

/**
 * Making, starting and writing into a jail: the engine's heaviest calls, which
 * queue behind one another when many users log in at once (50 first logins on
 * 2 CPUs: up to 55 s for the slowest login). Longer than the control timeout, which a
 * frozen engine is found by first: finding the jail comes before these.
 */
export const PROVISION_TIMEOUT_MS = 90_000;

/** The connections to one engine: control calls with a timeout, jail provisioning with a longer one, and streams without. */
export interface Engine {
  socket: string;
  control: EngineClient;
  provision: EngineClient;
  /** No timeout: an image import may take minutes. (A session's stream is the control client's: its timeout ends at the upgrade.) */
  streams: EngineClient;
}

/**
 * Connects to the engine's unix socket named in the config, and nowhere else:
 * DOCKER_HOST and friends are never read. The socket and its directory must be
 * root-owned and not writable by others (SECURITY.md, invariant 4).
 */
export function connectEngine(socket: string): Engine {
  assertRootOwned(socket, 'socket');
  assertRootOwned(dirname(socket), 'directory');
  return {
    socket,
    control: new EngineApi(socket, CONTROL_TIMEOUT_MS),
    provision: new EngineApi(socket, PROVISION_TIMEOUT_MS),
    streams: new EngineApi(socket, null),
  };
}

function assertRootOwned(path: string, what: string): void {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (error) {
    throw engineUnavailable(path, error);
  }
  if (what === 'socket' && !stat.isSocket()) throw new JailError(`the Docker engine socket ${path} is not a socket`, ExitCode.unavailable);
  if (stat.uid !== 0 || (stat.mode & 0o002) !== 0) {
    throw new JailError(`refusing the Docker engine ${what} ${path}: it must be owned by root and not writable by others`, ExitCode.unavailable);
  }
}

/**
 * One engine request, its failure wrapped once into the sentence engineError
 * makes of it, naming what was being done.
 */
export async function engineCall<T>(engine: Pick<Engine, 'socket'>, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw engineError(engine.socket, error, doing);
  }
}

/** Turns whatever the engine or its socket threw into one sentence a user can act on. */
export function engineError(socket: string, error: unknown, doing: string): JailError {
  if (error instanceof JailError) return error;
  const err = error as { code?: string; statusCode?: number; json?: { message?: string }; message?: string };
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT' || err.code === 'EACCES') return engineUnavailable(socket, error);
  if (err.code === 'ETIMEDOUT' || err.code === 'ESOCKETTIMEDOUT' || /timeout/i.test(err.message ?? '')) {
    return new JailError(`the Docker engine at ${socket} did not answer in time while ${doing}`, ExitCode.unavailable);
  }
  const detail = err.json?.message ?? err.message ?? String(error);
  return new JailError(`the Docker engine failed while ${doing}: ${oneLine(detail)}`, ExitCode.unavailable);
}

function engineUnavailable(socket: string, error: unknown): JailError {
  const code = (error as { code?: string }).code ?? 'error';
  return new JailError(`the Docker engine at ${socket} is not reachable (${code})`, ExitCode.unavailable);
}

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
