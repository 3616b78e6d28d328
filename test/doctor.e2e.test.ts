import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statfsSync, truncateSync, writeFileSync } from 'node:fs';
import { SSHD_DROP_IN } from '../src/doctor/sshdPolicy';
import { EXEMPT_GROUP_RECORD, SCRATCH_IMAGES } from '../src/host/paths';
import { withConfig } from './support/config';
import { jailedUser } from './support/fixtures';
import { requireHost, run, sh, sleep } from './support/host';
import { keepHostFile } from './support/hostFiles';
import { startSshd } from './support/sshd';
import { createUser, removeUser } from './support/users';

interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
  warning?: boolean;
}

function doctor(): { status: number | null; findings: Finding[]; text: string } {
  const json = run('/usr/sbin/docker-jail', ['doctor', '--json']);
  const text = run('/usr/sbin/docker-jail', ['doctor']);
  return { status: json.status, findings: JSON.parse(json.stdout) as Finding[], text: text.stdout };
}

const failed = (findings: Finding[]) => findings.filter((f) => !f.ok).map((f) => f.check);

describe('docker-jail doctor: names what is wrong on the host and how to fix it', function () {
  this.timeout(60_000);

  before(() => requireHost('docker', 'sshd', 'pam-auth-update'));
  const user = jailedUser();

  it('finds nothing wrong on the host ./build.sh install made, and its last line counts the ok, WARN and FAIL lines', () => {
    const { status, findings, text } = doctor();
    assert.deepEqual(failed(findings), []);
    assert.equal(status, 0);
    const lines = text.split('\n').filter((line) => /^(ok {2}|WARN|FAIL) /.test(line));
    assert.equal(lines.length, findings.length);
    const count = (label: string) => lines.filter((line) => line.startsWith(label)).length;
    assert.equal(count('WARN'), findings.filter((f) => f.warning === true).length);
    assert.match(text, new RegExp(`\n${findings.length} checks: ${count('ok  ')} ok, ${count('WARN')} WARN, 0 FAIL\n$`));
    for (const check of [
      'config',
      'engine',
      'live-restore',
      'limits',
      'image',
      'network',
      'gc timer',
      'user@ drop-in',
      'debootstrap',
      'tmp headroom',
      'jail group',
      'exempt group',
      'launcher',
      'PAM hook',
      '/etc/shells',
      'PAM profile',
      'sshd policy',
      'sftp',
      'sshd for jailed users',
      'sshd Match order',
    ]) {
      assert.ok(
        findings.some((f) => f.check === check && f.ok),
        `no passing ${check} check`,
      );
    }
  });

  it('names a config that others can write, and stops there', async () => {
    await withConfig(
      '[jail]\npids_limit = 100\n',
      () => {
        const { status, findings, text } = doctor();
        assert.equal(status, 1);
        assert.deepEqual(failed(findings), ['config']);
        assert.match(text, /^FAIL config: \/etc\/docker-jail.ini: refused: writable by group or others \(mode 0666\)/m);
      },
      0o666,
    );
  });

  it('warns of a jail network other than none, with what it opens (host services on every address, the other jails) and how to close it; a warning alone exits 0', async () => {
    await withConfig('[jail]\nnetwork = bridge\n', () => {
      const { status, findings, text } = doctor();
      assert.equal(status, 0);
      assert.deepEqual(failed(findings), []);
      assert.equal(findings.find((f) => f.check === 'network')?.warning, true);
      assert.match(text, /\n\d+ checks: \d+ ok, [1-9]\d* WARN, 0 FAIL\n$/);
      assert.match(
        text,
        /^WARN network: jails are on the network bridge: they reach every service the host listens with on all its addresses .* and the other jails on it\n {5}fix: network = none in \[jail\]; or firewall bridge: .*enable_icc=false/m,
      );
    });
  });

  it('names a missing PAM profile, with the command that fixes it', () => {
    sh('DEBIAN_FRONTEND=noninteractive pam-auth-update --remove docker-jail');
    try {
      const { status, findings, text } = doctor();
      assert.equal(status, 1);
      assert.deepEqual(failed(findings), ['PAM profile']);
      assert.match(text, /FAIL PAM profile: .*\n {5}fix: pam-auth-update --enable docker-jail\n/);
    } finally {
      sh('DEBIAN_FRONTEND=noninteractive pam-auth-update --enable docker-jail');
    }
  });

  it('names a config whose groups are not those of the static PAM account rule, with both ways out', async () => {
    const exempt = `djte${Math.random().toString(16).slice(2, 6)}`;
    sh(`groupadd --system ${exempt}`);
    try {
      await withConfig(`[access]\nexempt_group = ${exempt}\n`, () => {
        const { status, findings, text } = doctor();
        assert.equal(status, 1);
        assert.deepEqual(failed(findings), ['PAM profile']);
        assert.match(
          text,
          new RegExp(
            `FAIL PAM profile: the PAM account rule .* is written for the groups jailed and admins, but the config names jail_group jailed and exempt_group ${exempt}: .*\\n {5}fix: set jail_group = jailed and exempt_group = admins in \\[access\\] of /etc/docker-jail.ini, or copy `,
          ),
        );
      });
    } finally {
      sh(`groupdel ${exempt}`);
    }
  });

  it('names an sshd that serves sftp in-process (internal-sftp), which would bypass the jail', () => {
    const original = readFileSync('/etc/ssh/sshd_config');
    const putBack = keepHostFile('/etc/ssh/sshd_config'); // put back by the next ./build.sh test if this run is killed
    writeFileSync('/etc/ssh/sshd_config', original.toString().replace(/^Subsystem\s+sftp\s+.*$/m, 'Subsystem sftp internal-sftp'));
    try {
      const { status, findings, text } = doctor();
      assert.equal(status, 1);
      assert.deepEqual(failed(findings), ['sftp']);
      assert.match(text, /FAIL sftp: sshd serves sftp in-process \(internal-sftp\)/);
    } finally {
      putBack();
    }
  });

  it('names Match blocks read ahead of the policy that give jailed users forwarding back, for remote addresses or one member; passes again without them', () => {
    // Read before docker-jail.conf: sshd keeps the first value a matching Match block gives.
    const remote = '/etc/ssh/sshd_config.d/00-test-remote.conf';
    const oneUser = '/etc/ssh/sshd_config.d/01-test-user.conf';
    assert.ok(SSHD_DROP_IN > oneUser, 'the test drop-ins must sort before the policy');
    const other = createUser();
    const putBacks: (() => void)[] = [];
    try {
      const members = sh('getent group jailed | cut -d: -f4').trim().split(',');
      assert.ok(members.length >= 2, `the jail group lists ${members.join(',')}`);
      const second = members[1];
      putBacks.push(keepHostFile(remote), keepHostFile(oneUser));
      writeFileSync(remote, '# remote clients only\nMatch Address 10.0.0.0/8\n\tAllowTcpForwarding yes\n');
      writeFileSync(oneUser, `Match User ${second}\n\tX11Forwarding yes\n\tPermitTunnel yes\n`);
      assert.equal(run('/usr/sbin/sshd', ['-t']).status, 0, 'the test drop-ins are valid sshd configuration');
      const { status, findings, text } = doctor();
      assert.equal(status, 1);
      assert.deepEqual(failed(findings).sort(), ['sshd Match order', 'sshd for jailed users']);
      // sshd -T, asked about more than the first member and more than loopback:
      assert.match(text, /^FAIL sshd for jailed users: sshd allows .*\b\S+ from 10\.0\.0\.1\b.*: allowtcpforwarding yes \(policy: no\)/m);
      assert.doesNotMatch(text, /^FAIL sshd for jailed users: .*from 127\.0\.0\.1: allowtcpforwarding/m);
      assert.match(
        text,
        new RegExp(
          `^FAIL sshd for jailed users: .*\\b${second} from 127\\.0\\.0\\.1\\b.*: x11forwarding yes \\(policy: no\\).*permittunnel yes \\(policy: no\\)`,
          'm',
        ),
      );
      // The files, whatever sshd -T was asked:
      assert.match(
        text,
        /^FAIL sshd Match order: .*\/etc\/ssh\/sshd_config\.d\/00-test-remote\.conf line 3 sets AllowTcpForwarding yes \(policy: no\) in Match Address 10\.0\.0\.0\/8 \(\/etc\/ssh\/sshd_config\.d\/00-test-remote\.conf line 2\)/m,
      );
      assert.match(
        text,
        new RegExp(
          `^FAIL sshd Match order: .*01-test-user\\.conf line 2 sets X11Forwarding yes \\(policy: no\\) in Match User ${second} .*01-test-user\\.conf line 3 sets PermitTunnel yes`,
          'm',
        ),
      );
      assert.match(text, /fix: move these settings behind \/etc\/ssh\/sshd_config\.d\/docker-jail\.conf .*Group \*,!jailed/);
    } finally {
      for (const putBack of putBacks) putBack();
      removeUser(other);
    }
    const { status, findings } = doctor();
    assert.deepEqual(failed(findings), []);
    assert.equal(status, 0);
    assert.ok(findings.some((f) => f.check === 'sshd Match order' && f.ok));
  });

  it('names a Match block, even one read after the policy, that gives jailed users in-process sftp or any variable from addresses sshd -T is not asked about', () => {
    const local = '/etc/ssh/sshd_config.d/zz-test-sftp.conf';
    let putBack: (() => void) | undefined;
    try {
      putBack = keepHostFile(local);
      writeFileSync(local, 'Match Address 172.16.0.0/12\n\tForceCommand internal-sftp\n\tAcceptEnv *\n');
      assert.equal(run('/usr/sbin/sshd', ['-t']).status, 0, 'the test drop-in is valid sshd configuration');
      const { status, findings, text } = doctor();
      assert.equal(status, 1);
      assert.deepEqual(failed(findings), ['sshd Match order']);
      assert.match(
        text,
        /^FAIL sshd Match order: a Match block gives jailed users what sshd -T was not asked about: \/etc\/ssh\/sshd_config\.d\/zz-test-sftp\.conf line 2 in Match Address 172\.16\.0\.0\/12 .*: forcecommand internal-sftp .*zz-test-sftp\.conf line 3 .*: acceptenv \*/m,
      );
    } finally {
      putBack?.();
    }
  });

  it('reads the file of a running sshd started with its own -f, and names a Match block in it ahead of the policy', async () => {
    const sshd = await startSshd('Match Address 100.64.0.0/10\n\tAllowTcpForwarding yes\n');
    try {
      const { findings } = doctor();
      const order = findings.filter((f) => /^sshd pid \d+ Match order$/.test(f.check) && !f.ok).map((f) => f.detail);
      assert.equal(order.length, 1, JSON.stringify(findings.filter((f) => f.check.startsWith('sshd pid'))));
      // Its Match block runs to the end of its file, so the policy's Include is read inside it.
      assert.match(
        order[0],
        /^sshd reads \/etc\/ssh\/sshd_config\.d\/docker-jail\.conf inside Match Address 100\.64\.0\.0\/10 \(\/run\/docker-jail-test-sshd-\w+\/sshd_config line \d+\): /,
      );
    } finally {
      await sshd.stop();
    }
  });

  it('names a jailed user whose login shell is not jailsh, and a launcher with the wrong mode', () => {
    sh(`usermod -s /bin/bash ${user.name}; chmod 4755 /usr/bin/jailsh`);
    try {
      const { status, findings } = doctor();
      assert.equal(status, 1);
      assert.deepEqual(failed(findings).sort(), ['launcher', `user ${user.name}`].sort());
    } finally {
      sh(`usermod -s /usr/bin/jailsh ${user.name}; chmod 4754 /usr/bin/jailsh`);
    }
    assert.equal(doctor().status, 0);
  });

  it('says whether the engine keeps jails running across its restarts (live-restore), and how to turn it on without stopping a jail', () => {
    // Read from the engine itself (dockerd is never restarted by a test).
    const enabled = sh("docker info --format '{{.LiveRestoreEnabled}}'").trim();
    assert.match(enabled, /^(true|false)$/);
    const { text } = doctor();
    if (enabled === 'true') assert.match(text, /^ok {3}live-restore: the engine keeps jails running while it restarts/m);
    else
      assert.match(
        text,
        /^WARN live-restore: the engine runs without live-restore: restarting dockerd .* kills every jail's processes.*\n {5}fix: add "live-restore": true to \/etc\/docker\/daemon\.json, then systemctl reload docker /m,
      );
  });

  it('says whether the engine can enforce the limits the config sets, as the engine itself reports its cgroup controllers', () => {
    const supports = sh("docker info --format '{{.MemoryLimit}} {{.PidsLimit}}'").trim();
    assert.match(supports, /^(true|false) (true|false)$/);
    const { text } = doctor();
    if (supports === 'true true') assert.match(text, /^ok {3}limits: the engine can enforce the memory, pids and CPU limits the config sets$/m);
    else assert.match(text, /^FAIL limits: the engine cannot enforce /m);
  });

  it('says whether the gc timer runs and systemd loaded the user@ drop-in, or that systemd is not running here (a warning for gc, never a failure)', () => {
    const { findings, text } = doctor();
    const timer = findings.find((f) => f.check === 'gc timer');
    const dropIn = findings.find((f) => f.check === 'user@ drop-in');
    assert.ok(timer?.ok && dropIn?.ok, JSON.stringify([timer, dropIn]));
    if (existsSync('/run/systemd/system')) {
      assert.match(
        text,
        /^(ok {3}gc timer: docker-jail-gc\.timer is enabled and active|WARN gc timer: docker-jail-gc\.timer is \S+ and \S+: .*\n {5}fix: systemctl enable --now docker-jail-gc\.timer)/m,
      );
      assert.match(text, /^ok {3}user@ drop-in: systemd runs user@\.service with \/lib\/systemd\/system\/user@\.service\.d\/docker-jail\.conf/m);
    } else {
      assert.match(
        text,
        /^WARN gc timer: systemd is not running here \(no \/run\/systemd\/system\): docker-jail-gc\.timer never fires.*\n {5}fix: .*\/etc\/cron\.d\/docker-jail-gc/m,
      );
      assert.match(text, /^ok {3}user@ drop-in: systemd is not running here .*: no user manager starts/m);
    }
  });

  it('warns when debootstrap, which image build runs, is missing, with apt install debootstrap', () => {
    const hidden = '/usr/sbin/debootstrap.djt-hidden';
    const putBack = keepHostFile('/usr/sbin/debootstrap');
    renameSync('/usr/sbin/debootstrap', hidden);
    try {
      const { status, findings, text } = doctor();
      assert.equal(status, 0);
      assert.deepEqual(failed(findings), []);
      assert.match(text, /^WARN debootstrap: \/usr\/sbin\/debootstrap is missing: docker-jail image build .*\n {5}fix: apt install debootstrap\n/m);
    } finally {
      putBack();
      rmSync(hidden, { force: true });
    }
    assert.match(doctor().text, /^ok {3}debootstrap: /m);
  });

  it('warns when the sparse /tmp images may take more than their filesystem has free, naming the figures', () => {
    // An image of a uid no one has, sparse: it takes no disk, but says it may take free space and 1 GiB more.
    const image = `${SCRATCH_IMAGES}/4000000123.img`;
    mkdirSync(SCRATCH_IMAGES, { recursive: true, mode: 0o700 }); // as the first jail's login makes it
    const fs = statfsSync(SCRATCH_IMAGES);
    writeFileSync(image, '', { mode: 0o600 });
    try {
      truncateSync(image, fs.bavail * fs.bsize + 1024 ** 3);
      const { status, findings, text } = doctor();
      assert.equal(status, 0);
      assert.deepEqual(failed(findings), []);
      assert.match(
        text,
        /^WARN tmp headroom: the \d+ \/tmp images? in \/var\/lib\/docker-jail\/scratch \([\d.]+ \w+ in all, [\d.]+ \w+ on disk now\) may take [\d.]+ \w+ more; their filesystem has [\d.]+ \w+ free: jails filling their \/tmp would fill it.*\n {5}fix: .*tmp_size/m,
      );
    } finally {
      rmSync(image, { force: true });
    }
    assert.match(doctor().text, /^ok {3}tmp headroom: /m);
  });

  it('warns of an exempt group docker-jail did not make, naming its members (never jailed); not of one it made', () => {
    const member = createUser({ groups: ['admins'], shell: '/bin/bash' });
    const saved = existsSync(EXEMPT_GROUP_RECORD) ? readFileSync(EXEMPT_GROUP_RECORD) : null;
    try {
      rmSync(EXEMPT_GROUP_RECORD, { force: true });
      const { status, findings, text } = doctor();
      assert.equal(status, 0);
      assert.deepEqual(failed(findings), []);
      assert.match(
        text,
        new RegExp(
          `^WARN exempt group: exempt group admins existed before docker-jail and has members (\\S+, )*${member.name}(, \\S+)*: they are never jailed\\n {5}fix: deluser USER admins `,
          'm',
        ),
      );
      // What postinst records when it makes the group.
      const gid = sh('getent group admins | cut -d: -f3').trim();
      writeFileSync(EXEMPT_GROUP_RECORD, `admins ${gid}\n`, { mode: 0o644 });
      assert.match(doctor().text, new RegExp(`^ok {3}exempt group: group admins \\(gid ${gid}\\) was made by docker-jail's install`, 'm'));
    } finally {
      if (saved === null) rmSync(EXEMPT_GROUP_RECORD, { force: true });
      else writeFileSync(EXEMPT_GROUP_RECORD, saved, { mode: 0o644 });
      removeUser(member);
    }
  });

  it('warns of an sshd listener that has not read its files since the drop-in changed, and not once a reload (SIGHUP) made it', async () => {
    const sshd = await startSshd();
    const mine = (findings: Finding[]) => findings.find((f) => f.check === 'sshd reloaded' && f.detail.startsWith(`sshd (pid ${sshd.pid}) `));
    try {
      const before = mine(doctor().findings);
      assert.ok(before?.ok === true && before.warning === undefined, `started after the drop-in changed: ${JSON.stringify(before)}`);
      // Changed after it started: its content is the same, but sshd cannot know that.
      sh(`touch ${SSHD_DROP_IN}`);
      const { findings, text } = doctor();
      // It accepts every variable on purpose (startSshd): doctor fails that daemon, and nothing else.
      assert.deepEqual(
        failed(findings).filter((check) => !check.startsWith(`sshd pid ${sshd.pid}`)),
        [],
      );
      assert.equal(mine(findings)?.warning, true, JSON.stringify(mine(findings)));
      assert.match(
        text,
        new RegExp(
          `^WARN sshd reloaded: sshd \\(pid ${sshd.pid}\\) last read its configuration at \\S+ \\(pid file\\), before /etc/ssh/sshd_config\\.d/docker-jail\\.conf changed at \\S+: it still applies what the file said before\\n {5}fix: systemctl reload ssh \\(or kill -HUP ${sshd.pid}\\)`,
          'm',
        ),
      );
      // What systemctl reload ssh does: sshd re-execs itself under the same pid, reads its files, writes its pid file again.
      process.kill(sshd.pid, 'SIGHUP');
      let after = mine(doctor().findings);
      for (let i = 0; i < 50 && after?.warning === true; i++) {
        await sleep(100);
        after = mine(doctor().findings);
      }
      assert.equal(after?.ok, true);
      assert.equal(after?.warning, undefined, JSON.stringify(after));
      assert.match(after?.detail ?? '', /\(pid file\), after \/etc\/ssh\/sshd_config\.d\/docker-jail\.conf last changed$/);
    } finally {
      await sshd.stop();
    }
  });
});
