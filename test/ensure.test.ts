import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { copyOfDefaults } from '../src/config/defaults';
import type { Config } from '../src/config/types';
import { ExitCode, JailError } from '../src/errors';
import { type EnsureHost, ensureJail, findJailOf, type JailRequest } from '../src/jail/jail';
import { LABEL_MANAGED, LABEL_SECCOMP, LABEL_SHARED, LABEL_UID, LABEL_USER } from '../src/jail/labels';
import { fakeEngine } from './fakes/engine';

const PROFILE = { json: '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}', hash: '0123456789abcdef' };

const aliceRequest = (): JailRequest => ({
  uid: 1001,
  user: 'alice',
  name: 'jail-alice',
  hostname: 'alice-jail',
  homeSource: '/run/docker-jail/staging/1001',
  homeTarget: '/home/alice',
  home: null,
  scratch: null,
  identityFiles: { passwd: 'alice:x:1001:1001::/home/alice:/bin/bash\n', group: 'alice:x:1001:\n' },
  agent: null,
});

const aliceLabels = { [LABEL_MANAGED]: 'true', [LABEL_UID]: '1001', [LABEL_USER]: 'alice', [LABEL_SECCOMP]: PROFILE.hash };

describe('ensureJail with a fake engine: finding or making the jail, and the name race', () => {
  let config: Config;
  let host: EnsureHost;
  let cache: string;
  let setup: ReturnType<typeof fakeEngine>;

  beforeEach(() => {
    config = copyOfDefaults();
    cache = mkdtempSync('/tmp/djt-identity-');
    host = { seccompProfile: () => PROFILE, identityCache: `${cache}/identity`, nameRaceMs: 300 };
    setup = fakeEngine();
    setup.docker.images.set(config.jail.image, 'sha256:current');
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));

  it("makes a missing jail under the user's name, labelled with uid, user and profile, starts it and writes their passwd and group once", async () => {
    const { engine, docker } = setup;
    const jail = await ensureJail(engine, config, aliceRequest(), host);
    assert.equal(jail.name, 'jail-alice');
    assert.equal(jail.agent, false);
    const made = docker.containers.get(jail.id);
    assert.deepEqual(made?.labels, aliceLabels);
    assert.equal(made?.imageId, 'sha256:current');
    assert.deepEqual(docker.calls, ['create jail-alice', 'start jail-alice', 'putArchive jail-alice /']);
    assert.deepEqual(readdirSync(`${cache}/identity`), [jail.id]);

    docker.calls.length = 0;
    assert.deepEqual(await ensureJail(engine, config, aliceRequest(), host), jail);
    assert.deepEqual(docker.calls, [], 'a warm login wrote or started something');
  });

  it("takes a racing login's container, which the engine lists a moment after refusing the name (409)", async () => {
    const { engine, docker } = setup;
    const racer = docker.add({ name: 'jail-alice', labels: aliceLabels, imageId: 'sha256:current', listed: false });
    setTimeout(() => docker.list(racer.id), 150);
    const jail = await ensureJail(engine, config, aliceRequest(), { ...host, nameRaceMs: 3000 });
    assert.equal(jail.id, racer.id);
    assert.equal(docker.containers.size, 1, 'a second jail was made');
    assert.deepEqual(docker.calls, ['start jail-alice', 'putArchive jail-alice /']);
  });

  it("makes the jail under NAME-UID when a stranger's container holds the name", async () => {
    const { engine, docker } = setup;
    const stranger = docker.add({ name: 'jail-alice', labels: { purpose: 'not a jail' } });
    const jail = await ensureJail(engine, config, aliceRequest(), host);
    assert.equal(jail.name, 'jail-alice-1001');
    assert.notEqual(jail.id, stranger.id);
    assert.deepEqual(docker.containers.get(jail.id)?.labels, aliceLabels);
    assert.deepEqual(docker.containers.get(stranger.id)?.archives, [], "the stranger's container was written into");
  });

  it('never hands over the jail of an earlier account with the same uid: the new one gets NAME-UID', async () => {
    const { engine, docker } = setup;
    // userdel alice, then useradd alice again under another uid: the old jail has the name and the old uid.
    docker.add({ name: 'jail-alice', labels: { ...aliceLabels, [LABEL_UID]: '1000' }, state: 'running' });
    const jail = await ensureJail(engine, config, aliceRequest(), host);
    assert.equal(jail.name, 'jail-alice-1001');
    assert.equal((await findJailOf(engine, config, 1001, 'alice'))?.id, jail.id);
  });

  it('refuses, naming both containers, when neither name holds a jail of the user', async () => {
    const { engine, docker } = setup;
    docker.add({ name: 'jail-alice' });
    docker.add({ name: 'jail-alice-1001', labels: { ...aliceLabels, [LABEL_USER]: 'mallory' } });
    await assert.rejects(
      ensureJail(engine, config, aliceRequest(), host),
      (error: unknown) =>
        error instanceof JailError &&
        error.exitCode === ExitCode.refused &&
        error.message === 'the containers named jail-alice and jail-alice-1001 exist but neither is the jail of alice (uid 1001); refusing to use them',
    );
    assert.deepEqual(docker.calls, []);
  });

  it("refuses in shared mode when a stranger's container holds the shared jail's name", async () => {
    const { engine, docker } = setup;
    config.jail.mode = 'shared';
    docker.add({ name: 'jail-shared' });
    await assert.rejects(
      ensureJail(engine, config, { ...aliceRequest(), name: 'jail-shared' }, host),
      (error: unknown) =>
        error instanceof JailError && error.message === 'the containers named jail-shared exist but neither is the shared jail; refusing to use them',
    );
  });

  it('says the image must be built when the engine has no such image (404)', async () => {
    const { engine, docker } = setup;
    docker.images.clear();
    await assert.rejects(
      ensureJail(engine, config, aliceRequest(), host),
      (error: unknown) =>
        error instanceof JailError &&
        error.exitCode === ExitCode.unavailable &&
        error.message === 'the jail image docker-jail/base:bookworm is not built; an administrator must run: docker-jail image build',
    );
    assert.equal(docker.containers.size, 0);
  });

  it('makes no jail without the seccomp profile', async () => {
    const { engine, docker } = setup;
    const missing = new JailError('/usr/share/docker-jail/seccomp.json: missing');
    await assert.rejects(
      ensureJail(engine, config, aliceRequest(), {
        ...host,
        seccompProfile: () => {
          throw missing;
        },
      }),
      missing,
    );
    assert.equal(docker.containers.size, 0);
  });

  it('replaces a stopped jail that serves sessions another way than a jail made now (docker exec, not the agent)', async () => {
    const { engine, docker } = setup;
    const old = docker.add({ name: 'jail-alice', labels: aliceLabels, state: 'exited' });
    // An agent jail binds the agent's socket directory from its /tmp filesystem (here a path only: nothing is mounted).
    const request = { ...aliceRequest(), scratch: () => `${cache}/scratch`, agent: { uid: 1001, gid: 1001, groups: [1001, 27] } };
    const jail = await ensureJail(engine, config, request, host);
    assert.ok(!docker.containers.has(old.id), 'the old jail was kept');
    assert.equal(jail.agent, true);
    assert.deepEqual(docker.calls, ['remove jail-alice', 'create jail-alice', 'start jail-alice', 'putArchive jail-alice /']);
  });

  it('finds the shared jail by its label, whoever logs in', async () => {
    const { engine, docker } = setup;
    config.jail.mode = 'shared';
    const shared = docker.add({ name: 'jail-shared', labels: { [LABEL_MANAGED]: 'true', [LABEL_SHARED]: 'true' }, state: 'running' });
    assert.equal((await findJailOf(engine, config, 1001, 'alice'))?.id, shared.id);
    assert.equal((await findJailOf(engine, config, 1002, 'bob'))?.id, shared.id);
  });
});
