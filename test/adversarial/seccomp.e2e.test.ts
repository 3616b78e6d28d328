// Issue 13, item 6: the jails filter system calls with the profile the package
// ships, not whatever the engine's default is. Debian 12's engine (Docker
// 20.10) allows io_uring by default, the kernel surface most recent container
// escapes went through; a daemon may even default to unconfined. Judged by
// effect: what a static probe really gets from the kernel in a jailed session,
// with controls showing the same probe gets a working io_uring on the host and
// under the engine's default profile.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { STAGING_ROOT } from '../../src/host/mounts';
import { LABEL_MANAGED, LABEL_SECCOMP, LABEL_UID, LABEL_USER } from '../../src/jail/labels';
import { loadSeccompProfile, SECCOMP_PROFILE_PATH } from '../../src/jail/seccomp';
import { withConfig } from '../support/config';
import { jailedUsers } from '../support/fixtures';
import { requireHost, run, sh, waitFor } from '../support/host';
import { keepHostFile } from '../support/hostFiles';
import { jailOf, type TestUser } from '../support/users';
import { compileStatic, login, loginOutput, replaceConfig } from './attacks-support';
import { SmallEngine } from './faults-small-engine';

/**
 * Tries io_uring_setup, socket(AF_VSOCK) and keyctl (which every Docker
 * default refuses: it tells a filter from none); one line each: "NAME ok" or
 * "NAME ERRNO-NAME".
 */
const IO_URING_PROBE_C = `${__dirname}/io-uring-probe.c`;

const CLI = '/usr/sbin/docker-jail';

const labelOf = (id: string, label: string) => sh(`docker inspect -f '{{index .Config.Labels "${label}"}}' ${id}`).trim();

/** Seccomp mode, and what the probe got, in a jailed session of the user. */
function jailedProbe(user: TestUser): string {
  return loginOutput(user, 'grep "^Seccomp:" /proc/self/status; ~/io-uring-probe');
}

/** Asserts the session was filtered by the shipped profile: mode 2, io_uring and AF_VSOCK refused. */
function assertFiltered(output: string): void {
  assert.match(output, /^Seccomp:\s+2$/m, output);
  assert.match(output, /^io_uring_setup (EPERM|ENOSYS)$/m, output);
  assert.match(output, /^socket\(AF_VSOCK\) EPERM$/m, output);
  assert.match(output, /^keyctl EPERM$/m, output);
}

/**
 * A jail as docker-jail made it before it shipped a profile: its labels but the
 * profile's, and the engine's default filter. The user's home staging mount
 * (made by an earlier login) is its home, as then.
 */
function makePreProfileJail(user: TestUser, image: string): string {
  const old = jailOf(user);
  if (old !== '') sh(`docker rm -f ${old} >/dev/null`);
  return sh(
    `docker run -d --name jail-${user.name} --label ${LABEL_MANAGED}=true --label ${LABEL_UID}=${user.uid} --label ${LABEL_USER}=${user.name} ` +
      `--hostname ${user.name}-jail --user 65534:65534 --init --cap-drop ALL --security-opt no-new-privileges --network none ` +
      `--mount type=bind,source=${STAGING_ROOT}/${user.uid},target=${user.home} ${image} sleep infinity`,
  )
    .trim()
    .slice(0, 12);
}

interface Listed {
  name: string;
  uid: number;
  outdated: boolean;
}

describe('seccomp: every jail filters system calls with the shipped profile', function () {
  this.timeout(120_000);
  let restoreConfig: () => void = () => undefined;
  let tools = '';
  // First: its after hook removes the users before the config and the tools go, as before.
  const users = jailedUsers();

  before(() => {
    requireHost('docker', 'su', 'gcc', 'setpriv', 'useradd', 'userdel', 'debootstrap');
    if (statSync('/proc/sys/kernel/io_uring_disabled', { throwIfNoEntry: false }) !== undefined) {
      // 2 disables io_uring for everyone: the controls below could not show the probe works.
      assert.equal(sh('cat /proc/sys/kernel/io_uring_disabled').trim(), '0', 'prerequisite missing: kernel.io_uring_disabled must be 0 for the controls');
    }
    restoreConfig = replaceConfig(''); // the built-in defaults, whatever this host's file says
    tools = mkdtempSync('/tmp/djt-seccomp-');
    chmodSync(tools, 0o755);
    compileStatic(IO_URING_PROBE_C, `${tools}/io-uring-probe`);
  });
  after(() => {
    restoreConfig();
    if (tools) rmSync(tools, { recursive: true, force: true });
  });

  it('ships the profile root-owned and read-only', () => {
    const stats = statSync(SECCOMP_PROFILE_PATH);
    assert.equal(stats.uid, 0);
    assert.equal(stats.gid, 0);
    assert.equal(stats.mode & 0o7777, 0o644);
  });

  it("filters a jailed session (Seccomp 2; io_uring_setup and AF_VSOCK refused), while the same probe gets a working io_uring on the host as that user and under the engine's default profile", () => {
    const user = users.make();
    sh(`install -o ${user.uid} -g ${user.gid} -m 0755 ${tools}/io-uring-probe ${user.home}/io-uring-probe`);
    assertFiltered(jailedProbe(user));

    // The jail was made with the shipped profile, labelled with its hash.
    const jail = jailOf(user);
    const profile = loadSeccompProfile();
    assert.equal(labelOf(jail, LABEL_SECCOMP), profile.hash);
    const securityOpt = JSON.parse(sh(`docker inspect -f '{{json .HostConfig.SecurityOpt}}' ${jail}`)) as string[];
    assert.ok(securityOpt.includes(`seccomp=${profile.json}`), 'the jail was not created with the shipped profile');

    // Controls: the probe works where nothing of ours filters it.
    const onHost = sh(`setpriv --reuid=${user.uid} --regid=${user.gid} --clear-groups ${tools}/io-uring-probe`);
    assert.match(onHost, /^io_uring_setup ok$/m, onHost);
    const engineDefault = sh(
      `docker run --rm --network none --user ${user.uid}:${user.gid} -v ${tools}:/probe:ro docker-jail/base:bookworm /probe/io-uring-probe`,
    );
    assert.match(engineDefault, /^io_uring_setup ok$/m, `the engine's default profile refuses io_uring here: ${engineDefault}`);
    assert.match(engineDefault, /^keyctl EPERM$/m, engineDefault); // a filter, only a looser one
    assert.doesNotMatch(engineDefault, /^socket\(AF_VSOCK\) EPERM$/m);
  });

  it('refuses a first login with one line naming the profile when it is missing or writable by others; no jail is made', () => {
    const user = users.make();
    const aside = `${SECCOMP_PROFILE_PATH}.djt-aside`;
    const refusedWith = (reason: RegExp) => {
      const result = login(user, 'echo reached');
      assert.notEqual(result.status, 0);
      assert.equal(result.stdout, '', 'the command ran');
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.ok(lines[0].includes(SECCOMP_PROFILE_PATH), result.stderr);
      assert.match(lines[0], reason);
      assert.equal(jailOf(user), '', 'a jail was made');
    };
    const putBack = keepHostFile(SECCOMP_PROFILE_PATH); // put back by the next ./build.sh test if this run is killed
    try {
      chmodSync(SECCOMP_PROFILE_PATH, 0o666);
      refusedWith(/writable by group or others/);
      chmodSync(SECCOMP_PROFILE_PATH, 0o644);
      renameSync(SECCOMP_PROFILE_PATH, aside);
      refusedWith(/missing/);
    } finally {
      putBack();
      rmSync(aside, { force: true });
    }
    assert.equal(loginOutput(user, 'echo reached'), 'reached\n');
  });

  it("a jail made before the profile is outdated in list, and moves onto it at its last session's end", async () => {
    const current = users.make();
    const old = users.make();
    for (const user of [current, old]) loginOutput(user, 'true');
    const before = makePreProfileJail(old, 'docker-jail/base:bookworm');
    sh(`install -o ${old.uid} -g ${old.gid} -m 0755 ${tools}/io-uring-probe ${old.home}/io-uring-probe`);

    // Same image build as the configured one: only the missing label makes it outdated.
    const listed = JSON.parse(sh(`${CLI} list --json`)) as Listed[];
    assert.equal(listed.find((j) => j.uid === old.uid)?.outdated, true);
    assert.equal(listed.find((j) => j.uid === current.uid)?.outdated, false);
    assert.match(sh(`${CLI} status ${old.name}`), /docker-jail\/base:bookworm \(outdated: [^)]*\bseccomp\b[^)]*\)/);

    // Its session runs in the old jail, unfiltered by ours (the engine's default lets io_uring through) ...
    const inOld = loginOutput(old, '~/io-uring-probe');
    assert.match(inOld, /^io_uring_setup ok$/m, inOld);
    // ... and its end (PAM close_session) removes it; the next login makes it anew with the profile.
    await waitFor('the pre-profile jail to go with its last session', () => !jailOf(old).startsWith(before), 15_000);
    assertFiltered(jailedProbe(old));
    assert.equal(labelOf(jailOf(old), LABEL_SECCOMP), loadSeccompProfile().hash);
  });

  it('image update recreates an idle jail made before the profile with it (home kept)', async function () {
    this.timeout(420_000);
    const user = users.make();
    const image = 'djtest/seccomp:1';
    await withConfig(`[jail]\nimage = ${image}\n[image]\npackages = procps\n`, async () => {
      sh(`docker tag docker-jail/base:bookworm ${image}`);
      try {
        loginOutput(user, 'echo mine > ~/kept');
        const before = makePreProfileJail(user, image);
        sh(`install -o ${user.uid} -g ${user.gid} -m 0755 ${tools}/io-uring-probe ${user.home}/io-uring-probe`);
        assert.equal((JSON.parse(sh(`${CLI} status ${user.name} --json`)) as Listed[])[0].outdated, true);

        const update = run(CLI, ['image', 'update'], { timeout: 400_000 });
        assert.equal(update.status, 0, update.stdout.slice(-2000) + update.stderr);
        assert.match(update.stdout, new RegExp(`jail-${user.name}: recreated on ${image}`));
        const after = jailOf(user);
        assert.ok(after !== '' && !after.startsWith(before), 'the jail was not recreated');
        assert.equal(labelOf(after, LABEL_SECCOMP), loadSeccompProfile().hash);
        assert.equal((JSON.parse(sh(`${CLI} status ${user.name} --json`)) as Listed[])[0].outdated, false);
        assertFiltered(jailedProbe(user));
        assert.equal(loginOutput(user, 'cat ~/kept'), 'mine\n');
      } finally {
        sh(`docker ps -aq --filter ancestor=${image} | xargs -r docker rm -f >/dev/null; docker rmi -f ${image} >/dev/null 2>&1 || true`);
      }
    });
  });

  describe('doctor', () => {
    interface Finding {
      check: string;
      ok: boolean;
      warning?: boolean;
      detail: string;
    }
    const doctor = (): { status: number | null; findings: Finding[] } => {
      const result = run(CLI, ['doctor', '--json']);
      return { status: result.status, findings: JSON.parse(result.stdout) as Finding[] };
    };
    const finding = (findings: Finding[], check: string) => {
      const found = findings.find((f) => f.check === check);
      assert.ok(found, `no ${check} check`);
      return found;
    };

    it('passes seccomp and the profile on this engine, and says whether AppArmor confines it (a warning when not)', () => {
      const { findings } = doctor();
      assert.equal(finding(findings, 'seccomp').ok, true);
      assert.equal(finding(findings, 'seccomp profile').ok, true);
      const apparmor = finding(findings, 'apparmor');
      const engineHasAppArmor = sh(`docker info --format '{{json .SecurityOptions}}'`).includes('name=apparmor');
      assert.equal(apparmor.ok, true); // a warning never fails doctor
      assert.equal(apparmor.warning === true, !engineHasAppArmor);
      const text = run(CLI, ['doctor']).stdout;
      assert.match(text, engineHasAppArmor ? /^ok {3}apparmor: /m : /^WARN apparmor: AppArmor is not available .*\n {5}fix: /m);
    });

    it('fails on an engine whose default seccomp profile allows everything (a second dockerd given one, as Docker 20.10 is told to run unconfined)', async function () {
      this.timeout(120_000);
      // Docker 20.10 reads `--seccomp-profile=unconfined` as a file name and does not start: a profile allowing all is its way.
      const allowAll = `${tools}/allow-all.json`;
      writeFileSync(allowAll, '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}\n');
      const engine = await SmallEngine.start(64, [`--seccomp-profile=${allowAll}`]);
      try {
        assert.match(engine.docker(`info --format '{{json .SecurityOptions}}'`).stdout, new RegExp(`name=seccomp,profile=${allowAll}`));
        // The control: a container there really is unfiltered (keyctl, which every default refuses, works).
        const probed = engine.docker(`run --rm --network none -v ${tools}:/probe:ro ${engine.image} /probe/io-uring-probe`).stdout;
        assert.match(probed, /^keyctl ok$/m, probed);
        await withConfig(`[engine]\nsocket = ${engine.socket}\n`, () => {
          const { status, findings } = doctor();
          assert.equal(status, 1);
          const seccomp = finding(findings, 'seccomp');
          assert.equal(seccomp.ok, false);
          assert.match(seccomp.detail, /default seccomp profile \(.*allow-all\.json\) is unconfined/);
        });
      } finally {
        await engine.stop();
      }
    });
  });
});
