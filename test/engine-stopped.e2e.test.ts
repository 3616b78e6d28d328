import assert from 'node:assert/strict';
import { engineAnswers, startEngine, stopEngine } from './support/engine';
import { jailedUsers, loginAs } from './support/fixtures';
import { requireHost, sleep } from './support/host';
import type { TestUser } from './support/users';

describe('a stopped Docker engine: jailed logins fail closed, and work again once it is back', function () {
  this.timeout(120_000);
  // Registered before the users' teardown: removing the user's jail needs the engine back.
  after(() => startEngine());
  const users = jailedUsers();
  let user: TestUser;

  before(() => {
    requireHost('docker', 'dockerd', 'su');
    if (!engineAnswers()) throw new Error('the Docker engine must run before this test');
    user = users.make();
    assert.equal(loginAs(user, 'true').status, 0);
  });

  it('refuses the login with one line and no hang while the engine is down', async () => {
    await stopEngine();
    const started = Date.now();
    const result = loginAs(user, 'echo inside');
    assert.ok(Date.now() - started < 10_000, `the refusal took ${Date.now() - started} ms`);
    assert.notEqual(result.status, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^jailsh: the Docker engine at \/var\/run\/docker.sock is not reachable \((ENOENT|ECONNREFUSED)\)\n$/);
  });

  it('lets the next login in once the engine is back, starting the stopped jail again', async () => {
    await startEngine();
    await sleep(500);
    const result = loginAs(user, 'hostname');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${user.name}-jail\n`);
  });
});
