import { type ConfigFs, nodeFs, readRootOwnedFile } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { SECCOMP_PROFILE_PATH } from '../host/paths';

/**
 * The system call filter of every jail, shipped by the package: the engine's
 * own default profile (Docker 20.10, Debian 12's) without what later engines
 * dropped (io_uring, AF_VSOCK sockets). Root-owned, like everything the
 * privileged code reads (SECURITY.md, invariant 4).
 */
export { SECCOMP_PROFILE_PATH };

/** The shipped file is about 20 KB; anything far larger is not ours. */
const MAX_PROFILE_BYTES = 1 << 20;

export interface SeccompProfile {
  /** The profile as the engine takes it in HostConfig.SecurityOpt `seccomp=<JSON>` (the docker CLI sends the same). */
  json: string;
  /** A short hash of json, labelled on each jail made with it: a jail with another (or none) is outdated. */
  hash: string;
}

/**
 * Reads the profile from its fixed path; a missing, unsafe or malformed file
 * fails closed (SECURITY.md, invariant 2) with one line naming it: a jail is never made
 * with the engine's default instead.
 */
export function loadSeccompProfile(path: string = SECCOMP_PROFILE_PATH, fs: ConfigFs = nodeFs): SeccompProfile {
  const read = readRootOwnedFile(path, MAX_PROFILE_BYTES, fs);
  if (read === null)
    throw new JailError(`${path}: missing: the jails' seccomp profile; reinstall docker-jail (apt install --reinstall docker-jail)`, ExitCode.config);
  let profile: unknown;
  try {
    profile = JSON.parse(read.text);
  } catch (error) {
    throw new JailError(`${read.file}: refused: not JSON (${(error as Error).message})`, ExitCode.config);
  }
  const fields = typeof profile === 'object' && profile !== null ? (profile as Record<string, unknown>) : {};
  // An allow-all default would be a filter in name only.
  if (fields.defaultAction !== 'SCMP_ACT_ERRNO' || !Array.isArray(fields.syscalls)) {
    throw new JailError(`${read.file}: refused: not a seccomp profile denying by default (defaultAction SCMP_ACT_ERRNO, syscalls)`, ExitCode.config);
  }
  const json = JSON.stringify(profile);
  return { json, hash: fingerprint(json) };
}

/**
 * 64-bit FNV-1a of the text, in hex: tells one profile from another for the
 * jails' label. Not node:crypto, which alone adds about 5 ms to every start;
 * nothing here needs collision resistance (the profile is root's own file).
 */
export function fingerprint(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash.toString(16).padStart(16, '0');
}
