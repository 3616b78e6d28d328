/**
 * What a jailed login costs, against the docker CLI doing the same thing on
 * the same engine and the same jail, side by side in one run (bench/run).
 * Writes bench/RESULTS.md and the table in the README. Never a test: numbers
 * depend on the machine; the ratios are what to read.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as pty from 'node-pty';
import { STAGING_ROOT } from '../src/host/paths';

const RUNS = Math.max(10, Number(process.env.BENCH_RUNS ?? 10));
const STORM = Number(process.env.BENCH_STORM ?? 50);
const GIB = 1024 ** 3;
/** The storm's p95 in the last run before the agent: the agent's logins must be no slower. */
const STORM_P95_MS = 19873;
const HELD_USERS = Number(process.env.BENCH_HELD_USERS ?? 20);
const HELD_PER_USER = Number(process.env.BENCH_HELD_PER_USER ?? 10);

interface Stats {
  median: number;
  min: number;
  max: number;
  p95: number;
  p99: number;
  n: number;
}

interface Figure {
  name: string;
  unit: string;
  ours: Stats;
  theirs: Stats | null;
  /** ours / theirs, of the medians. */
  ratio: number | null;
  target: string;
  met: boolean | null;
  reproduce: string;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], p95: at(0.95), p99: at(0.99), n: sorted.length };
}

function sh(command: string): string {
  const result = spawnSync('/bin/bash', ['-c', command], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Wall time of a command in milliseconds; it must succeed. */
function timed(command: string): number {
  const start = process.hrtime.bigint();
  sh(command);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs a and b alternately (so drift hits both alike), after one warm-up of each. */
function sideBySide(a: () => number, b: () => number, runs = RUNS): [number[], number[]] {
  a();
  b();
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(a());
    theirs.push(b());
  }
  return [ours, theirs];
}

interface BenchUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function makeUser(name: string, home = true): BenchUser {
  sh(`id ${name} >/dev/null 2>&1 || useradd ${home ? '--create-home' : '--no-create-home'} --shell /usr/bin/jailsh --groups jailed ${name}`);
  const [uid, gid] = sh(`id -u ${name}; id -g ${name}`).trim().split('\n').map(Number);
  return { name, uid, gid, home: sh(`getent passwd ${name} | cut -d: -f6`).trim() };
}

function dropUser(user: BenchUser): void {
  sh(
    `docker ps -aq --filter label=io.docker-jail.uid=${user.uid} | xargs -r docker rm -f >/dev/null; umount -l ${STAGING_ROOT}/${user.uid} 2>/dev/null || true; pkill -KILL -u ${user.uid} || true; userdel --remove ${user.name} 2>/dev/null || true`,
  );
}

/** jailsh as the user, as sshd starts it for `ssh host COMMAND`. */
const asUser = (user: BenchUser) => `setpriv --reuid=${user.uid} --regid=${user.gid} --init-groups`;
/**
 * No descriptor of root's: a session hands the jail's agent only the user's own fds 0-2 or /dev/null (sshd's
 * pipes and pty are the user's); the docker CLI's side gets the same redirections.
 */
const QUIET = '</dev/null >/dev/null 2>&1';
/** A pty child made the user's, as sshd makes the session's pty the user's (pty_setowner), before `command` runs. */
const ownPty = (user: BenchUser, command: string[]) => ['/bin/sh', '-c', 'chown "$0" "$(tty)" && exec "$@"', String(user.uid), ...command];
const jailOf = (user: BenchUser) => `jail-${user.name}`;
const dockerExec = (user: BenchUser, flags = '') => `docker exec ${flags} -u ${user.uid}:${user.gid} -w ${user.home} -e HOME=${user.home} ${jailOf(user)}`;

/** A terminal session: ms from spawn to the first prompt, then keystroke echo latencies, then its host memory while idle at the prompt. */
async function terminalSession(file: string, args: string[], rssPid: (pid: number) => number): Promise<{ prompt: number; echoes: number[]; rss: number[] }> {
  const start = process.hrtime.bigint();
  const term = pty.spawn(file, args, { name: 'xterm', cols: 120, rows: 40, env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', TERM: 'xterm', LANG: 'C.UTF-8' } });
  let output = '';
  let waiter: (() => void) | null = null;
  term.onData((data) => {
    output += data;
    waiter?.();
  });
  const waitFor = (pattern: RegExp, from: number, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} from ${file}; got ${JSON.stringify(output.slice(-300))}`)), timeoutMs);
      const check = () => {
        if (pattern.test(output.slice(from))) {
          clearTimeout(timer);
          waiter = null;
          resolve();
        }
      };
      waiter = check;
      check();
    });
  await waitFor(/\$ $/, 0);
  const prompt = Number(process.hrtime.bigint() - start) / 1e6;
  const echoes: number[] = [];
  for (let i = 0; i < 200; i++) {
    if (i % 40 === 39) {
      const from = output.length;
      term.write('\x15'); // kill the typed line: readline redraws
      await waitFor(/\$ $|\r/, from).catch(() => undefined);
      continue;
    }
    const from = output.length;
    const sent = process.hrtime.bigint();
    term.write('x');
    await waitFor(/x/, from);
    echoes.push(Number(process.hrtime.bigint() - sent) / 1e6);
  }
  const rss: number[] = [];
  term.write('\x15'); // an empty line again: the session idles at its prompt
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (let i = 0; i < RUNS; i++) {
    rss.push(rssPid(term.pid));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  term.kill('SIGHUP');
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { prompt, echoes, rss };
}

/** Resident memory (MiB) of one process; 0 once it is gone (or is a kernel thread). */
function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Every host process's parent, from /proc/PID/stat (the comm may hold spaces and parentheses). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

/** The pids of roots and all their descendants on the host (a jail's processes descend from its shim, not from these). */
function treeOf(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const seen: number[] = [];
  const queue = [...roots];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    if (seen.includes(pid)) continue;
    seen.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return seen;
}

/** Host memory (MiB) of a session: the sum of the RSS of the pty child and everything under it on the host. */
function treeRss(pid: number): number {
  return treeOf([pid]).reduce((sum, p) => sum + rssOf(p), 0);
}

function memAvailable(): number {
  return Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024;
}

/** Memory (MiB) the jail uses, as the engine counts it (its cgroup, page cache excluded), on cgroup v1 and v2 alike. */
function jailMemory(jail: string): number {
  const usage = sh(`docker stats --no-stream --format '{{.MemUsage}}' ${jail}`).split('/')[0].trim();
  const match = /^([\d.]+)\s*(B|KiB|MiB|GiB|kB|MB|GB)$/.exec(usage);
  if (!match) throw new Error(`cannot read the memory use ${JSON.stringify(usage)}`);
  const scale: Record<string, number> = { B: 1 / 1024 ** 2, KiB: 1 / 1024, kB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 };
  return Number(match[1]) * scale[match[2]];
}

/**
 * limit bounds the ratio of the medians; absolute (in the figure's unit), when given, bounds our median instead
 * (the docker CLI's figure then stands beside it for reference only).
 */
function figure(
  name: string,
  unit: string,
  ours: number[],
  theirs: number[] | null,
  target: string,
  limit: number | null,
  higherIsBetter: boolean,
  reproduce: string,
  absolute: number | null = null,
): Figure {
  const o = stats(ours);
  const t = theirs === null ? null : stats(theirs);
  const ratio = t === null ? null : o.median / t.median;
  const bounded = absolute !== null ? o.median : ratio;
  const bound = absolute !== null ? absolute : limit;
  const met = bounded === null || bound === null ? null : higherIsBetter ? bounded >= bound : bounded <= bound;
  return { name, unit, ours: o, theirs: t, ratio, target, met, reproduce };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/run must run as root, on a host where docker-jail is installed');
  const image = sh(`/usr/sbin/docker-jail config check | sed -n 's/^image = //p' | head -1`).trim();
  const figures: Figure[] = [];
  const user = makeUser('djbench');
  try {
    sh(`${asUser(user)} /usr/bin/jailsh -c true ${QUIET}`); // home staging and jail made once: the warm state

    const [warmOurs, warmTheirs] = sideBySide(
      () => timed(`${asUser(user)} /usr/bin/jailsh -c true ${QUIET}`),
      () => timed(`${dockerExec(user)} true ${QUIET}`),
    );
    figures.push(
      figure(
        'warm non-interactive login (`-c true`)',
        'ms',
        warmOurs,
        warmTheirs,
        '<= 0.75x (moonshot 0.5x)',
        0.75,
        false,
        `${asUser(user)} /usr/bin/jailsh -c true ${QUIET}  vs  ${dockerExec(user)} true ${QUIET}`,
      ),
    );

    const ourSessions = [];
    const theirSessions = [];
    for (let i = 0; i < RUNS; i++) {
      const [ourFile, ...ourArgs] = ownPty(user, [
        '/usr/bin/setpriv',
        `--reuid=${user.uid}`,
        `--regid=${user.gid}`,
        '--init-groups',
        '/bin/bash',
        '-c',
        'exec -a -jailsh /usr/bin/jailsh',
      ]);
      ourSessions.push(await terminalSession(ourFile, ourArgs, treeRss));
      const [theirFile, ...theirArgs] = ownPty(user, [
        '/usr/bin/docker',
        'exec',
        '-it',
        '-u',
        `${user.uid}:${user.gid}`,
        '-w',
        user.home,
        '-e',
        `HOME=${user.home}`,
        jailOf(user),
        'bash',
        '-l',
      ]);
      theirSessions.push(await terminalSession(theirFile, theirArgs, treeRss));
    }
    figures.push(
      figure(
        'warm interactive login: start to first prompt, through a pty',
        'ms',
        ourSessions.map((s) => s.prompt),
        theirSessions.map((s) => s.prompt),
        '<= 0.75x',
        0.75,
        false,
        `pty (made the user's, as sshd does: sh -c 'chown UID "$(tty)" && exec ...'): ${asUser(user)} bash -c 'exec -a -jailsh /usr/bin/jailsh'  vs  docker exec -it -u UID:GID JAIL bash -l`,
      ),
    );
    const ourEchoes = ourSessions.flatMap((s) => s.echoes);
    const theirEchoes = theirSessions.flatMap((s) => s.echoes);
    figures.push(
      figure(
        'keystroke echo latency, median',
        'ms',
        ourEchoes,
        theirEchoes,
        '<= 1.0x',
        1.0,
        false,
        'one key at a time at the bash prompt of the sessions above, 195 keys each',
      ),
    );
    figures.push(
      figure(
        'keystroke echo latency, p99',
        'ms',
        ourSessions.map((s) => stats(s.echoes).p99),
        theirSessions.map((s) => stats(s.echoes).p99),
        '<= 1.0x',
        1.0,
        false,
        'p99 of each session above; median over sessions',
      ),
    );
    figures.push(
      figure(
        'host memory of one idle interactive session (all its host processes but sshd)',
        'MiB',
        ourSessions.flatMap((s) => s.rss),
        theirSessions.flatMap((s) => s.rss),
        '<= 2 MiB',
        null,
        false,
        'sum of VmRSS of the pty child and every host process under it (jailsh -> docker-jail -> docker-jail-attach; the docker CLI), idle at the prompt, sampled in each session above',
        2,
      ),
    );

    const coldOurs: number[] = [];
    const coldTheirs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      sh(`docker rm -f ${jailOf(user)} >/dev/null`);
      coldOurs.push(timed(`${asUser(user)} /usr/bin/jailsh -c true ${QUIET}`));
      sh('docker rm -f djbench-cold >/dev/null 2>&1 || true');
      coldTheirs.push(
        timed(
          `docker run -d --name djbench-cold --network none ${image} sleep infinity >/dev/null && docker exec -u ${user.uid}:${user.gid} djbench-cold true ${QUIET}`,
        ),
      );
      sh('docker rm -f djbench-cold >/dev/null');
    }
    figures.push(
      figure(
        'cold first login (no jail yet, home exists)',
        'ms',
        coldOurs,
        coldTheirs,
        '<= 1.5x',
        1.5,
        false,
        `docker rm -f JAIL; ${asUser(user)} /usr/bin/jailsh -c true  vs  docker run -d IMAGE sleep infinity && docker exec CONTAINER true`,
      ),
    );

    const mibPerSecond = (ms: number) => GIB / 1024 ** 2 / (ms / 1000);
    const [inOurs, inTheirs] = sideBySide(
      // The pipe is the user's (their shell makes it), as sshd's pipes are.
      () => mibPerSecond(timed(`${asUser(user)} /bin/bash -c "head -c 1G /dev/zero | /usr/bin/jailsh -c 'cat > /dev/null'" ${QUIET}`)),
      () => mibPerSecond(timed(`head -c 1G /dev/zero | ${dockerExec(user, '-i')} sh -c 'cat > /dev/null' >/dev/null 2>&1`)),
    );
    figures.push(
      figure(
        'throughput in: 1 GiB into `cat > /dev/null`',
        'MiB/s',
        inOurs,
        inTheirs,
        '>= 2.0x',
        2.0,
        true,
        `${asUser(user)} bash -c "head -c 1G /dev/zero | /usr/bin/jailsh -c 'cat > /dev/null'"  vs  head -c 1G /dev/zero | docker exec -i JAIL sh -c 'cat > /dev/null'`,
      ),
    );
    sh(`${asUser(user)} head -c 1G /dev/urandom > ${user.home}/bench.bin`);
    const [outOurs, outTheirs] = sideBySide(
      () => mibPerSecond(timed(`${asUser(user)} /usr/bin/jailsh -c 'cat bench.bin' ${QUIET}`)),
      () => mibPerSecond(timed(`${dockerExec(user)} cat bench.bin ${QUIET}`)),
    );
    sh(`rm -f ${user.home}/bench.bin`);
    figures.push(
      figure(
        'throughput out: `cat` of a 1 GiB file',
        'MiB/s',
        outOurs,
        outTheirs,
        '>= 2.0x',
        2.0,
        true,
        `${asUser(user)} /usr/bin/jailsh -c 'cat bench.bin' > /dev/null  vs  docker exec JAIL cat bench.bin > /dev/null`,
      ),
    );

    const idle: number[] = [];
    for (let i = 0; i < RUNS; i++) idle.push(jailMemory(jailOf(user)));
    figures.push(
      figure(
        'idle jail memory (its init, the agent, no session)',
        'MiB',
        idle,
        null,
        '<= 1 MiB',
        null,
        false,
        'docker stats --no-stream --format {{.MemUsage}} JAIL, with no session',
        1,
      ),
    );
  } finally {
    dropUser(user);
  }

  // First logins of many users at once, through PAM (su -l): the hook makes each home and jail.
  const storm = Array.from({ length: STORM }, (_, i) => makeUser(`djstorm${i}`, false));
  try {
    const results = await Promise.all(
      storm.map(
        (u) =>
          new Promise<{ ok: boolean; ms: number }>((resolve) => {
            const start = process.hrtime.bigint();
            const child = spawn('/bin/su', ['-l', u.name, '-c', 'test "$(hostname)" = "' + u.name + '-jail"'], { stdio: 'ignore' });
            child.on('close', (code) => resolve({ ok: code === 0, ms: Number(process.hrtime.bigint() - start) / 1e6 }));
          }),
      ),
    );
    const failed = results.filter((r) => !r.ok).length;
    const distinct = new Set(storm.map((u) => sh(`docker ps -aq --filter label=io.docker-jail.uid=${u.uid}`).trim())).size;
    const f = figure(
      `${STORM} first logins at once (su -l, PAM hook)`,
      'ms',
      results.map((r) => r.ms),
      null,
      'all succeed',
      null,
      false,
      `${STORM} x su -l djstormN -c 'test "$(hostname)" = djstormN-jail' in parallel`,
    );
    f.met = failed === 0 && distinct === STORM && f.ours.p95 <= STORM_P95_MS;
    f.target = `all succeed, p95 <= ${STORM_P95_MS} ms: ${STORM - failed}/${STORM} did, in ${distinct} jails; p95 ${f.ours.p95.toFixed(0)} ms`;
    figures.push(f);
  } finally {
    storm.forEach(dropUser);
  }

  figures.push(...(await heldSessions()));

  const report = render(figures);
  writeFileSync('bench/RESULTS.md', report.full);
  const readme = readFileSync('README.md', 'utf8');
  const marked = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/;
  if (!marked.test(readme)) throw new Error('README.md lacks the <!-- bench:start --> ... <!-- bench:end --> markers');
  writeFileSync('README.md', readme.replace(marked, `<!-- bench:start -->\n${report.table}\n<!-- bench:end -->`));
  process.stdout.write(report.full);
}

/**
 * Many idle interactive sessions held at once (HELD_USERS users x HELD_PER_USER, each through its own pty, at its
 * prompt): the host memory they add, as the sum of the RSS of every session's host processes (the pty children
 * and all under them) and as the drop of MemAvailable from before the first session opened (jails already running).
 */
async function heldSessions(): Promise<Figure[]> {
  const users = Array.from({ length: HELD_USERS }, (_, i) => makeUser(`djheld${i}`));
  const terms: pty.IPty[] = [];
  try {
    for (const u of users) sh(`${asUser(u)} /usr/bin/jailsh -c true ${QUIET}`); // each jail made and its agent listening
    await new Promise((resolve) => setTimeout(resolve, 2000));
    sh('sync');
    const before = memAvailable();
    const opened = Array.from({ length: HELD_USERS * HELD_PER_USER }, (_, i) => users[i % HELD_USERS]);
    const prompts: number[] = [];
    // Opened in waves of one session per user: a user's logins may take turns, different users' need not.
    for (let wave = 0; wave < HELD_PER_USER; wave++) {
      await Promise.all(
        opened.slice(wave * HELD_USERS, (wave + 1) * HELD_USERS).map(
          (u) =>
            new Promise<void>((resolve, reject) => {
              const start = process.hrtime.bigint();
              const [file, ...args] = ownPty(u, [
                '/usr/bin/setpriv',
                `--reuid=${u.uid}`,
                `--regid=${u.gid}`,
                '--init-groups',
                '/bin/bash',
                '-c',
                'exec -a -jailsh /usr/bin/jailsh',
              ]);
              const term = pty.spawn(file, args, {
                name: 'xterm',
                cols: 120,
                rows: 40,
                env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', TERM: 'xterm', LANG: 'C.UTF-8' },
              });
              terms.push(term);
              let output = '';
              const timer = setTimeout(() => reject(new Error(`held session of ${u.name} showed no prompt: ${JSON.stringify(output.slice(-300))}`)), 60_000);
              const listener = term.onData((data) => {
                output += data;
                if (/\$ $/.test(output)) {
                  clearTimeout(timer);
                  listener.dispose();
                  prompts.push(Number(process.hrtime.bigint() - start) / 1e6);
                  resolve();
                }
              });
            }),
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 3000)); // idle
    const n = terms.length;
    const pids = treeOf(terms.map((t) => t.pid));
    const rssSamples: number[] = [];
    const dropSamples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      rssSamples.push(pids.reduce((sum, p) => sum + rssOf(p), 0));
      dropSamples.push(before - memAvailable());
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const attaches = pids.filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'docker-jail-att';
      } catch {
        return false;
      }
    }).length;
    const how = `${HELD_USERS} users x ${HELD_PER_USER} sessions, each pty: setpriv --reuid=UID ... bash -c 'exec -a -jailsh /usr/bin/jailsh', idle at the prompt`;
    return [
      figure(
        `${n} idle interactive sessions held at once: host memory, sum of their host processes' RSS`,
        'MiB',
        rssSamples,
        null,
        `report: ${pids.length} host processes, ${attaches} of them docker-jail-attach; ${(stats(rssSamples).median / n).toFixed(2)} MiB a session`,
        null,
        false,
        `${how}; sum of VmRSS of every pty child and all under it`,
      ),
      figure(
        `${n} idle interactive sessions held at once: MemAvailable drop`,
        'MiB',
        dropSamples,
        null,
        `report: ${(stats(dropSamples).median / n).toFixed(2)} MiB a session, jail side (pty, bash) included`,
        null,
        false,
        `${how}; MemAvailable before the first opened (the ${HELD_USERS} jails running) minus while all are held`,
      ),
      figure(
        `${n} idle interactive sessions held at once: start to first prompt, ${HELD_USERS} at a time`,
        'ms',
        prompts,
        null,
        'report',
        null,
        false,
        `${how}; opened in ${HELD_PER_USER} waves of one session per user`,
      ),
    ];
  } finally {
    for (const t of terms) {
      try {
        t.kill('SIGHUP');
      } catch {
        // gone already
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    users.forEach(dropUser);
  }
}

function render(figures: Figure[]): { table: string; full: string } {
  const num = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const cell = (s: Stats | null, unit: string) => (s === null ? '' : `${num(s.median)} ${unit} (${num(s.min)}–${num(s.max)})`);
  const rows = figures.map(
    (f) =>
      `| ${f.name} | ${cell(f.ours, f.unit)} | ${cell(f.theirs, f.unit)} | ${f.ratio === null ? '' : `${f.ratio.toFixed(2)}x`} | ${f.target} | ${f.met === null ? 'report' : f.met ? 'met' : '**missed**'} |`,
  );
  const table = [
    `Median (min–max) of ${RUNS} runs or more each, on ${cpus().length} CPUs, Docker ${sh("docker version -f '{{.Server.Version}}'").trim()}, ${sh('uname -r').trim()}; \`bench/run\` (as root, docker-jail installed) reproduces it.`,
    '',
    '| figure | docker-jail | docker CLI | ratio | target | |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  const commands = figures.map((f) => `- **${f.name}**: \`${f.reproduce}\``).join('\n');
  const full = `# Benchmark results\n\nMeasured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.\n\n${table}\n\n## Commands\n\n${commands}\n`;
  return { table, full };
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/run: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
