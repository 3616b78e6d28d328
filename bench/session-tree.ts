/**
 * The host processes of one idle interactive session (the pty child and all under it), as ps shows them:
 * what bench/run's host-memory figure sums. Usage (as root): npx tsx bench/session-tree.ts USER
 */
import { execFileSync } from 'node:child_process';
import * as pty from 'node-pty';

const user = process.argv[2];
const [uid, gid] = execFileSync('/bin/sh', ['-c', `id -u ${user}; id -g ${user}`], { encoding: 'utf8' })
  .trim()
  .split('\n');
// The pty made the user's first, as sshd makes a session's (root's would send the session through docker exec).
const term = pty.spawn(
  '/bin/sh',
  [
    '-c',
    'chown "$0" "$(tty)" && exec "$@"',
    String(uid),
    '/usr/bin/setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--init-groups',
    '/bin/bash',
    '-c',
    'exec -a -jailsh /usr/bin/jailsh',
  ],
  { name: 'xterm', cols: 120, rows: 40, env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', TERM: 'xterm', LANG: 'C.UTF-8' } },
);
let output = '';
term.onData((d) => {
  output += d;
});
const deadline = Date.now() + 20_000;
const poll = setInterval(() => {
  if (!/\$ $/.test(output) && Date.now() < deadline) return;
  clearInterval(poll);
  setTimeout(() => {
    process.stdout.write(
      execFileSync(
        '/bin/sh',
        [
          '-c',
          `ps -o pid,ppid,stat,rss,vsz,args --ppid ${term.pid} -p ${term.pid}; echo; ps -o pid,ppid,stat,rss,args --forest -g $(ps -o sid= -p ${term.pid})`,
        ],
        { encoding: 'utf8' },
      ),
    );
    term.kill('SIGHUP');
    setTimeout(() => process.exit(0), 300);
  }, 1500);
}, 50);
