// Support for attacks.e2e.test.ts: reading an strace of a real login (which
// process touched which path with which credentials), judging whether a user
// could write a path or any directory on the way to it, and the small C
// programs the attacks run as the user or inside a jail.

import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, posix } from 'node:path';
import { type Ran, run, sh } from '../support/host';
import { keepHostFile } from '../support/hostFiles';
import type { TestUser } from '../support/users';

const CONFIG = '/etc/docker-jail.ini';

/**
 * Puts text in /etc/docker-jail.ini (root-owned, 0644) for a whole block of
 * tests, whatever the host's file said; returns what puts the original back.
 * withConfig (test/support/config.ts) does the same around one call.
 */
export function replaceConfig(text: string): () => void {
  const putBack = keepHostFile(CONFIG); // and by the next ./build.sh test if this run is killed
  writeFileSync(CONFIG, text);
  chownSync(CONFIG, 0, 0);
  chmodSync(CONFIG, 0o644);
  return putBack;
}

/** Prints the container a command runs in (Docker bind-mounts /etc/hostname from the container's own directory). */
export const CONTAINER_PROBE = 'sed -n "s#.* /[^ ]*/containers/\\([0-9a-f]\\{64\\}\\)/hostname /etc/hostname .*#\\1#p" /proc/self/mountinfo';

/** `su -l USER -c COMMAND`: a real login through PAM (the hook included) and jailsh, without a terminal. */
export function login(user: TestUser, command: string): Ran {
  return run('/usr/bin/su', ['-l', user.name, '-c', command], { timeout: 60_000 });
}

/** What a login printed; it must succeed. */
export function loginOutput(user: TestUser, command: string): string {
  const result = login(user, command);
  assert.equal(result.status, 0, `\`${command}\` failed for ${user.name} (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/**
 * A jailed user with exactly this name (createUser picks random ones), made by
 * useradd: --badname for what its default rule refuses (upper case, @), a
 * given uid to reuse one. No ssh key: these users log in with su -l.
 */
export function createNamedUser(name: string, options: { badname?: boolean; uid?: number; home?: boolean } = {}): TestUser {
  const args = [options.home === false ? '--no-create-home' : '--create-home', '--shell', '/usr/bin/jailsh', '--groups', 'jailed'];
  if (options.badname) args.push('--badname');
  if (options.uid !== undefined) args.push('--uid', String(options.uid));
  const made = run('/usr/sbin/useradd', [...args, name]);
  if (made.status !== 0) throw new Error(`useradd ${name} failed: ${made.stderr}`);
  const [, , uid, gid, , home] = run('/usr/bin/getent', ['passwd', name]).stdout.trim().split(':');
  return { name, uid: Number(uid), gid: Number(gid), home, key: '' };
}

/** Removes what createNamedUser made: the jail (found by its uid label), the staging mount, processes, the account and its home. */
export function removeNamedUser(user: TestUser): void {
  sh(`docker ps -aq --filter label=io.docker-jail.uid=${user.uid} | xargs -r docker rm -f >/dev/null`);
  sh(`umount -l /run/docker-jail/homes/${user.uid} 2>/dev/null || true; rmdir /run/docker-jail/homes/${user.uid} 2>/dev/null || true`);
  run('/usr/bin/pkill', ['-KILL', '-u', String(user.uid)]);
  run('/usr/sbin/userdel', ['--remove', user.name]);
  if (user.home.startsWith('/home/') && !user.home.includes('..')) rmSync(user.home, { recursive: true, force: true });
}

/** One path a traced process named in a system call, with the credentials it had then. */
export interface PathAccess {
  pid: number;
  syscall: string;
  path: string;
  /** What the call returned, as strace shows it ("0", "3</etc/passwd>", "-1 ENOENT (...)"). */
  result: string;
  /** The file system uid the call ran with (the effective uid, unless setfsuid changed it). */
  fsuid: number;
  /** Whether the process is docker-jail's: the launcher, the main program, or a child they started. */
  dockerJail: boolean;
}

/** The programs whose execution starts docker-jail's privileged code. */
const DOCKER_JAIL_PROGRAMS = new Set(['/usr/bin/jailsh', '/usr/lib/docker-jail/docker-jail-pam-hook', '/usr/lib/docker-jail/docker-jail']);

/**
 * For each system call taking paths: the indexes of its path arguments, each
 * with the index of the directory fd it is relative to (null: the cwd).
 */
const PATH_ARGS: Record<string, [number, number | null][]> = {
  open: [[0, null]],
  creat: [[0, null]],
  openat: [[1, 0]],
  openat2: [[1, 0]],
  execve: [[0, null]],
  execveat: [[1, 0]],
  stat: [[0, null]],
  lstat: [[0, null]],
  access: [[0, null]],
  readlink: [[0, null]],
  statfs: [[0, null]],
  chdir: [[0, null]],
  chroot: [[0, null]],
  mkdir: [[0, null]],
  rmdir: [[0, null]],
  unlink: [[0, null]],
  truncate: [[0, null]],
  chmod: [[0, null]],
  chown: [[0, null]],
  lchown: [[0, null]],
  mknod: [[0, null]],
  utime: [[0, null]],
  utimes: [[0, null]],
  getxattr: [[0, null]],
  lgetxattr: [[0, null]],
  setxattr: [[0, null]],
  lsetxattr: [[0, null]],
  listxattr: [[0, null]],
  llistxattr: [[0, null]],
  removexattr: [[0, null]],
  lremovexattr: [[0, null]],
  newfstatat: [[1, 0]],
  fstatat64: [[1, 0]],
  statx: [[1, 0]],
  faccessat: [[1, 0]],
  faccessat2: [[1, 0]],
  readlinkat: [[1, 0]],
  mkdirat: [[1, 0]],
  unlinkat: [[1, 0]],
  fchmodat: [[1, 0]],
  fchownat: [[1, 0]],
  utimensat: [[1, 0]],
  mknodat: [[1, 0]],
  futimesat: [[1, 0]],
  name_to_handle_at: [[1, 0]],
  rename: [
    [0, null],
    [1, null],
  ],
  link: [
    [0, null],
    [1, null],
  ],
  symlink: [[1, null]],
  renameat: [
    [1, 0],
    [3, 2],
  ],
  renameat2: [
    [1, 0],
    [3, 2],
  ],
  linkat: [
    [1, 0],
    [3, 2],
  ],
  symlinkat: [[2, 1]],
  mount: [
    [0, null],
    [1, null],
  ],
  umount2: [[0, null]],
  inotify_add_watch: [[1, null]],
};

const FORKS = new Set(['clone', 'clone3', 'fork', 'vfork']);

interface ProcessState {
  fsuid: number;
  cwd: string;
  dockerJail: boolean;
}

/** Splits `name(args) = result` into its parts; args split at top-level commas. */
function parseCall(line: string): { name: string; args: string[]; result: string } | null {
  const open = line.indexOf('(');
  if (open <= 0 || !/^[a-z_0-9]+$/.test(line.slice(0, open))) return null;
  const args: string[] = [];
  let depth = 0;
  let current = '';
  let i = open + 1;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      // A string, escapes included, and the "..." strace adds when it cut one short.
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      current += line.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    if ((c === ')' || c === ']' || c === '}') && depth > 0) {
      depth--;
    } else if (c === ')' && depth === 0) {
      break;
    }
    if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim() !== '') args.push(current.trim());
  const rest = line.slice(i + 1);
  const result = /^\s*=\s*(.*)$/.exec(rest)?.[1] ?? '';
  return { name: line.slice(0, open), args, result };
}

/** The bytes of a string as strace prints it ("..." with C escapes), or null when the argument is not one. */
function unquote(arg: string | undefined): string | null {
  const match = /^@?"((?:[^"\\]|\\.)*)"/.exec(arg ?? '');
  if (!match) return null;
  return match[1].replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: '\n', t: '\t', r: '\r', v: '\v', f: '\f' } as Record<string, string>)[e] ?? e;
  });
}

/** The directory a dirfd argument stands for: `AT_FDCWD</cwd>` or `3</path>` under strace -y. */
function dirOf(arg: string | undefined, cwd: string): string | null {
  if (arg === undefined) return cwd;
  const match = /^(?:AT_FDCWD|\d+)<(.*)>$/.exec(arg);
  if (match) return match[1];
  return arg === 'AT_FDCWD' ? cwd : null;
}

/**
 * Reads the per-process files of `strace -ff -y -o DIR/trace` started on the
 * process `rootPid` (which ran as uid 0), following forks, credential changes,
 * setuid executions and chdir, and returns every path a call named.
 */
export function pathAccesses(dir: string, rootPid: number, startCwd: string): PathAccess[] {
  const accesses: PathAccess[] = [];
  const queue: [number, ProcessState][] = [[rootPid, { fsuid: 0, cwd: startCwd, dockerJail: false }]];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const [pid, initial] = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const state = { ...initial };
    let text: string;
    try {
      text = readFileSync(`${dir}/trace.${pid}`, 'utf8');
    } catch {
      continue; // a thread or process that made no traced call
    }
    for (const line of text.split('\n')) {
      const call = parseCall(line);
      if (call === null) continue;
      const ok = /^(0|[1-9]\d*)\b/.test(call.result);
      const uidArg = (i: number) => {
        const value = Number(call.args[i]);
        return Number.isInteger(value) && value >= 0 ? value : null;
      };
      const paths = PATH_ARGS[call.name];
      if (paths !== undefined) {
        for (const [index, dirIndex] of paths) {
          const raw = unquote(call.args[index]);
          if (raw === null || raw === '') continue;
          if (call.name === 'mount' && index === 0 && !raw.startsWith('/')) continue; // "tmpfs", "none": not a path
          const base = dirIndex === null ? state.cwd : dirOf(call.args[dirIndex], state.cwd);
          if (base === null) continue;
          const path = posix.resolve(base, raw);
          // An executed program runs with the credentials it ends up with (a setuid one as its owner).
          let fsuid = state.fsuid;
          if (call.name.startsWith('execve') && ok) fsuid = Math.min(fsuid, setuidOwner(path) ?? fsuid);
          const dockerJail = state.dockerJail || (call.name.startsWith('execve') && DOCKER_JAIL_PROGRAMS.has(path));
          accesses.push({ pid, syscall: call.name, path, result: call.result, fsuid, dockerJail });
          // What an opened fd really is (strace -y): a link on the way is checked too.
          const real = /^\d+<(.*)>$/.exec(call.result)?.[1];
          if (real?.startsWith('/') && real !== path) accesses.push({ pid, syscall: call.name, path: real, result: call.result, fsuid, dockerJail });
        }
      }
      if ((call.name === 'connect' || call.name === 'bind') && /sun_path=/.test(call.args[1] ?? '')) {
        const raw = unquote(/sun_path=(@?"(?:[^"\\]|\\.)*")/.exec(call.args[1])?.[1]);
        const abstract = /sun_path=@/.test(call.args[1]);
        if (raw !== null && !abstract)
          accesses.push({
            pid,
            syscall: call.name,
            path: posix.resolve(state.cwd, raw),
            result: call.result,
            fsuid: state.fsuid,
            dockerJail: state.dockerJail,
          });
      }
      if (!ok) continue;
      // What changes the process's state.
      const at = /AT_FDCWD<(.*)>/.exec(line)?.[1];
      if (at !== undefined) state.cwd = at;
      if (call.name === 'chdir') state.cwd = posix.resolve(state.cwd, unquote(call.args[0]) ?? '.');
      if (call.name === 'fchdir') state.cwd = dirOf(call.args[0], state.cwd) ?? state.cwd;
      if (call.name === 'setuid' && uidArg(0) !== null) state.fsuid = uidArg(0)!;
      if (call.name === 'setreuid' && uidArg(1) !== null) state.fsuid = uidArg(1)!;
      if (call.name === 'setresuid' && uidArg(1) !== null) state.fsuid = uidArg(1)!;
      if (call.name === 'setfsuid' && uidArg(0) !== null) state.fsuid = uidArg(0)!;
      if (call.name.startsWith('execve')) {
        const program = accesses.at(-1)!;
        state.fsuid = program.fsuid;
        state.dockerJail = program.dockerJail;
      }
      if (FORKS.has(call.name)) {
        const child = Number(/^(\d+)/.exec(call.result)?.[1]);
        if (child > 0) queue.push([child, { ...state }]);
      }
    }
  }
  return accesses;
}

/** The owner of a setuid executable, or null when the file is not setuid. */
function setuidOwner(path: string): number | null {
  try {
    const stat = statSync(path);
    return (stat.mode & 0o4000) !== 0 ? stat.uid : null;
  } catch {
    return null;
  }
}

/** The program the kernel itself loads to run an executable: its ELF interpreter or #! line, or null. */
export function interpreterOf(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const read = (offset: number, length: number) => {
      const buffer = Buffer.alloc(length);
      return buffer.subarray(0, readSync(fd, buffer, 0, length, offset));
    };
    const head = read(0, 256);
    if (head.subarray(0, 2).toString() === '#!') return head.subarray(2).toString().split('\n')[0].trim().split(/\s+/)[0] || null;
    if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return null; // 64-bit ELF only: this is an x86_64 host
    // The program headers may be anywhere (postject moves them to the end of the single executable).
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const headers = read(phoff, phentsize * head.readUInt16LE(56));
    for (let at = 0; at + 56 <= headers.length; at += phentsize) {
      if (headers.readUInt32LE(at) !== 3) continue; // PT_INTERP
      return read(Number(headers.readBigUInt64LE(at + 8)), Number(headers.readBigUInt64LE(at + 32)))
        .toString('latin1')
        .replace(/\0+$/, '');
    }
    return null; // static
  } finally {
    closeSync(fd);
  }
}

/** Users (by uid) in a group, as members or by their primary gid. */
function nonRootMembersOf(gid: number): string[] {
  const members = new Set<string>();
  const group = run('/usr/bin/getent', ['group', String(gid)])
    .stdout.trim()
    .split(':');
  for (const name of (group[3] ?? '').split(',').filter(Boolean)) if (name !== 'root') members.add(name);
  for (const line of run('/usr/bin/getent', ['passwd']).stdout.split('\n')) {
    const [name, , uid, primary] = line.split(':');
    if (name && Number(primary) === gid && Number(uid) !== 0) members.add(name);
  }
  return [...members];
}

/**
 * Why a user other than root could write this path or replace what it names:
 * any existing component (each ancestor directory, any symlink on the way and
 * what it points to, the file itself) not owned by root, or writable by others,
 * or by a group with a non-root member. Device nodes and sockets are endpoints
 * (/dev/null, /dev/log, the Docker socket): their mode says who may use them,
 * not who may replace them, so only their owner is checked there. A missing
 * component ends the walk: creating it needs write access to the last existing
 * directory, which has just been checked.
 */
export function whyWritable(path: string, depth = 0): string[] {
  if (depth > 40) return [`${path}: too many symbolic links`];
  const problems: string[] = [];
  const parts = path.split('/').filter(Boolean);
  let current = '/';
  for (let i = 0; i <= parts.length; i++) {
    if (i > 0) current = posix.join(current, parts[i - 1]);
    let stat: Stats;
    try {
      stat = lstatSync(current);
    } catch {
      break;
    }
    const final = i === parts.length;
    if (stat.uid !== 0) problems.push(`${current} is owned by uid ${stat.uid}`);
    if (stat.isSymbolicLink()) {
      const target = posix.resolve(dirname(current), readlinkSync(current));
      problems.push(...whyWritable(target, depth + 1));
      // Go on from where the link leads, as the kernel does.
      current = target;
      continue;
    }
    const endpoint = final && (stat.isSocket() || stat.isCharacterDevice() || stat.isBlockDevice());
    if (endpoint) continue;
    if ((stat.mode & 0o002) !== 0) problems.push(`${current} is writable by others (mode ${(stat.mode & 0o7777).toString(8)})`);
    if ((stat.mode & 0o020) !== 0) {
      const members = nonRootMembersOf(stat.gid);
      if (members.length > 0) problems.push(`${current} is writable by group ${stat.gid}, which has ${members.join(', ')}`);
    }
  }
  return problems;
}

/** The pid of the first process strace started: the one whose trace begins by executing the command. */
export function tracedRoot(dir: string, program: string): number {
  const files = readdirSync(dir).filter((f) => /^trace\.\d+$/.test(f));
  for (const file of files) {
    const first = readFileSync(`${dir}/${file}`, 'utf8').split('\n')[0];
    if (first.startsWith(`execve("${program}"`)) return Number(file.slice('trace.'.length));
  }
  throw new Error(`no trace in ${dir} starts by executing ${program}`);
}

/** Compiles a C file into a static executable (it runs in the jail too, whose image has no compiler or libc headers). */
export function compileStatic(source: string, output: string): void {
  sh(`gcc -static -O1 -Wall -Werror -o ${output} ${source}`);
}

/**
 * Run as the user on the host against a pid: reads /proc/PID/environ, lists
 * /proc/PID/fd, reads /proc/PID/mem at a mapped address, reads the cwd, root
 * and exe links, attaches with PTRACE_ATTACH and PTRACE_SEIZE, reads memory
 * with process_vm_readv, and sends signal 0. One line per attempt:
 * "NAME ok BYTES" or "NAME errno-name".
 */
export const PROBE_PROCESS_C = `${__dirname}/probe-process.c`;

/**
 * Run inside a jail on its terminal: TIOCSTI pushes argv[1] into the input of
 * the terminal on fd 0, byte by byte, as if typed; TIOCLINUX asks for the
 * console's selection and for a screen dump (virtual consoles only); and the
 * host's consoles are tried by path. One line per attempt.
 */
export const TERMINAL_ATTACK_C = `${__dirname}/tty-attack.c`;

/**
 * Run inside a jail: connects to unix sockets in the abstract namespace (as
 * containerd's shims once listened on, CVE-2020-15257), one per argument, and
 * says for each "connected" or the errno name.
 */
export const ABSTRACT_CONNECT_C = `${__dirname}/abstract-connect.c`;

/** A TCP listener for a jail (the image has no nc): accepts connections on the port and answers each with a line. */
export const TCP_LISTEN_C = `${__dirname}/listen.c`;
