import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { requireHost, run, sh, sleep, waitFor } from './support/host';
import { createUser, removeUser, type TestUser } from './support/users';

const engineAnswers = () => run('/usr/bin/docker', ['version', '--format', '{{.Server.Version}}']).status === 0;
/** The engine is managed by systemd where it runs, else it is the dockerd that ./build.sh test started. */
const systemd = run('/bin/sh', ['-c', 'command -v systemctl >/dev/null && systemctl is-active --quiet docker']).status === 0;

function stopEngine(): void {
  if (systemd) sh('systemctl stop docker.socket docker.service');
  else sh(`kill -TERM ${readFileSync('/var/run/docker.pid', 'utf8').trim()}`);
}

function startEngine(): void {
  if (systemd) sh('systemctl start docker');
  else sh('nohup dockerd >>/var/log/dockerd.log 2>&1 &');
}

describe('a stopped Docker engine: jailed logins fail closed, and work again once it is back @docker @root', function () {
  this.timeout(120_000);
  let user: TestUser;

  before(() => {
    requireHost('docker', 'dockerd', 'su');
    if (!engineAnswers()) throw new Error('the Docker engine must run before this test');
    user = createUser();
    assert.equal(run('/bin/su', ['-l', user.name, '-c', 'true']).status, 0);
  });
  after(async () => {
    if (!engineAnswers()) startEngine();
    await waitFor('the engine to answer again', engineAnswers, 60_000);
    removeUser(user);
  });

  it('refuses the login with one line and no hang while the engine is down', async () => {
    stopEngine();
    await waitFor('the engine to stop', () => !engineAnswers() && !existsSync('/var/run/docker.pid'), 60_000);
    const started = Date.now();
    const result = run('/bin/su', ['-l', user.name, '-c', 'echo inside']);
    assert.ok(Date.now() - started < 10_000, `the refusal took ${Date.now() - started} ms`);
    assert.notEqual(result.status, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^jailsh: the Docker engine at \/var\/run\/docker.sock is not reachable \((ENOENT|ECONNREFUSED)\)\n$/);
  });

  it('lets the next login in once the engine is back, starting the stopped jail again', async () => {
    startEngine();
    await waitFor('the engine to answer again', engineAnswers, 60_000);
    await sleep(500);
    const result = run('/bin/su', ['-l', user.name, '-c', 'hostname']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${user.name}-jail\n`);
  });
});
