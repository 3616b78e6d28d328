import assert from 'node:assert/strict';
import { engineAnswers, startEngine, stopEngine } from './support/engine';
import { requireHost, run, sleep } from './support/host';
import { createUser, removeUser, type TestUser } from './support/users';

describe('a stopped Docker engine: jailed logins fail closed, and work again once it is back', function () {
  this.timeout(120_000);
  let user: TestUser;

  before(() => {
    requireHost('docker', 'dockerd', 'su');
    if (!engineAnswers()) throw new Error('the Docker engine must run before this test');
    user = createUser();
    assert.equal(run('/bin/su', ['-l', user.name, '-c', 'true']).status, 0);
  });
  after(async () => {
    await startEngine();
    removeUser(user);
  });

  it('refuses the login with one line and no hang while the engine is down', async () => {
    await stopEngine();
    const started = Date.now();
    const result = run('/bin/su', ['-l', user.name, '-c', 'echo inside']);
    assert.ok(Date.now() - started < 10_000, `the refusal took ${Date.now() - started} ms`);
    assert.notEqual(result.status, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^jailsh: the Docker engine at \/var\/run\/docker.sock is not reachable \((ENOENT|ECONNREFUSED)\)\n$/);
  });

  it('lets the next login in once the engine is back, starting the stopped jail again', async () => {
    await startEngine();
    await sleep(500);
    const result = run('/bin/su', ['-l', user.name, '-c', 'hostname']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${user.name}-jail\n`);
  });
});
