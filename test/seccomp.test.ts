import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ConfigFs, ConfigStats } from '../src/config/load';
import { engineSecurityFindings } from '../src/doctor/doctor';
import { JailError } from '../src/errors';
import { isOutdated } from '../src/jail/jail';
import { loadSeccompProfile, SECCOMP_PROFILE_PATH } from '../src/jail/seccomp';

const SHIPPED = readFileSync(`${__dirname}/../profiles/seccomp.json`, 'utf8');

/** The profile's directories as the package leaves them (root, 0755), and the file as given. */
function fsWith(file: { text: string; uid?: number; mode?: number } | null): ConfigFs {
  const directory: ConfigStats = { uid: 0, mode: 0o40755, size: 4096, isFile: () => false, isDirectory: () => true, isSymbolicLink: () => false };
  return {
    lstat: (path) => {
      if (path !== SECCOMP_PROFILE_PATH) return directory;
      if (file === null) throw Object.assign(new Error(`ENOENT: no such file or directory, lstat '${path}'`), { code: 'ENOENT' });
      return {
        uid: file.uid ?? 0,
        mode: 0o100000 | (file.mode ?? 0o644),
        size: file.text.length,
        isFile: () => true,
        isDirectory: () => false,
        isSymbolicLink: () => false,
      };
    },
    readFile: () => file?.text ?? '',
  };
}

const refusal = (fs: ConfigFs) => {
  try {
    loadSeccompProfile(SECCOMP_PROFILE_PATH, fs);
  } catch (error) {
    assert.ok(error instanceof JailError);
    return error.message;
  }
  return assert.fail('the profile was accepted');
};

describe("the jails' seccomp profile: the shipped file, its checks, and what it makes outdated", () => {
  it("ships the engine's default without io_uring and AF_VSOCK sockets, denying by default", () => {
    const profile = JSON.parse(SHIPPED) as {
      defaultAction: string;
      syscalls: { names: string[]; action: string; args: { index: number; value: number; op: string }[] | null }[];
    };
    assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
    const allowed = profile.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names);
    for (const name of ['io_uring_setup', 'io_uring_enter', 'io_uring_register']) assert.ok(!allowed.includes(name), `${name} is allowed`);
    assert.ok(allowed.includes('read') && allowed.includes('execve'));
    // socket() only with a family other than AF_VSOCK (40): every rule naming it has an argument condition.
    const socketRules = profile.syscalls.filter((s) => s.names.includes('socket'));
    assert.deepEqual(
      socketRules.map((s) => s.args),
      [[{ index: 0, value: 38, op: 'SCMP_CMP_LT' }], [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }], [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }]],
    );
  });

  it('reads it as compact JSON with a short hash, the same for the same profile however it is laid out', () => {
    const profile = loadSeccompProfile(SECCOMP_PROFILE_PATH, fsWith({ text: SHIPPED }));
    assert.equal(profile.json, JSON.stringify(JSON.parse(SHIPPED)));
    assert.match(profile.hash, /^[0-9a-f]{16}$/);
    assert.equal(loadSeccompProfile(SECCOMP_PROFILE_PATH, fsWith({ text: profile.json })).hash, profile.hash);
  });

  it('fails closed, naming the file, when it is missing, unsafe or not a denying profile', () => {
    assert.match(refusal(fsWith(null)), /^\/usr\/share\/docker-jail\/seccomp\.json: missing: .*apt install --reinstall docker-jail/);
    assert.match(
      refusal(fsWith({ text: SHIPPED, mode: 0o666 })),
      /^\/usr\/share\/docker-jail\/seccomp\.json: refused: writable by group or others \(mode 0666\)/,
    );
    assert.match(refusal(fsWith({ text: SHIPPED, uid: 1000 })), /^\/usr\/share\/docker-jail\/seccomp\.json: refused: owned by uid 1000, not root/);
    assert.match(refusal(fsWith({ text: '{' })), /: refused: not JSON/);
    assert.match(refusal(fsWith({ text: '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}' })), /: refused: not a seccomp profile denying by default/);
  });

  it('holds a jail outdated when made from an older image build, with another profile, or with none (before the upgrade)', () => {
    const current = { imageId: 'sha256:new', seccomp: 'abc123abc123', agent: true };
    assert.equal(isOutdated({ imageId: 'sha256:new', seccomp: 'abc123abc123' }, current), false);
    assert.equal(isOutdated({ imageId: 'sha256:new', seccomp: null }, current), true);
    assert.equal(isOutdated({ imageId: 'sha256:new', seccomp: 'fff000fff000' }, current), true);
    assert.equal(isOutdated({ imageId: 'sha256:old', seccomp: 'abc123abc123' }, current), true);
    // The image not built: only the profile can tell.
    assert.equal(isOutdated({ imageId: 'sha256:old', seccomp: 'abc123abc123' }, { ...current, imageId: null }), false);
    assert.equal(isOutdated({ imageId: 'sha256:old', seccomp: null }, { ...current, imageId: null }), true);
  });

  it('holds a per-user jail outdated when it serves sessions by docker exec where a jail made now has the agent, and the reverse', () => {
    const current = { imageId: 'sha256:new', seccomp: 'abc123abc123', agent: true };
    assert.equal(isOutdated({ imageId: 'sha256:new', seccomp: 'abc123abc123', agent: true }, current), false);
    assert.equal(isOutdated({ imageId: 'sha256:new', seccomp: 'abc123abc123', agent: false }, current), true);
    assert.equal(isOutdated({ imageId: 'sha256:new', seccomp: 'abc123abc123', agent: true }, { ...current, agent: false }), true);
    // A shared jail never has an agent: its kind is not measured.
    assert.equal(isOutdated({ imageId: 'sha256:new', seccomp: 'abc123abc123' }, current), false);
  });

  it('doctor: fails without seccomp or with an unconfined default, warns without AppArmor (canned /info SecurityOptions)', () => {
    const verdict = (options: string[]) => engineSecurityFindings(options).map((f) => `${f.check}:${f.warning ? 'warn' : f.ok ? 'ok' : 'FAIL'}`);
    assert.deepEqual(verdict(['name=apparmor', 'name=seccomp,profile=default', 'name=cgroupns']), ['seccomp:ok', 'apparmor:ok']);
    assert.deepEqual(verdict(['name=seccomp,profile=default']), ['seccomp:ok', 'apparmor:warn']);
    assert.deepEqual(verdict(['name=seccomp,profile=/etc/docker/seccomp.json', 'name=apparmor']), ['seccomp:ok', 'apparmor:ok']);
    assert.deepEqual(verdict(['name=apparmor', 'name=seccomp,profile=unconfined']), ['seccomp:FAIL', 'apparmor:ok']);
    assert.deepEqual(verdict(['name=apparmor']), ['seccomp:FAIL', 'apparmor:ok']);
    assert.deepEqual(verdict([]), ['seccomp:FAIL', 'apparmor:warn']);
    // Docker 20.10's way: a default profile file allowing everything.
    const allowsAll = (path: string) => path === '/etc/docker/allow-all.json';
    assert.equal(engineSecurityFindings(['name=seccomp,profile=/etc/docker/allow-all.json'], allowsAll)[0].ok, false);
    assert.equal(engineSecurityFindings(['name=seccomp,profile=/etc/docker/strict.json'], allowsAll)[0].ok, true);
    const [unconfined] = engineSecurityFindings(['name=seccomp,profile=unconfined']);
    assert.match(unconfined.detail, /unconfined/);
    assert.match(unconfined.fix ?? '', /daemon\.json/);
  });
});
