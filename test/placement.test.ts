import assert from 'node:assert/strict';
import { defaultConfig } from '../src/config/load';
import type { Config } from '../src/config/types';
import { JailError } from '../src/errors';
import type { Identity } from '../src/identity/nss';
import { placementOf } from '../src/jail/placement';

const alice: Identity = { user: 'Alice.Smith@CORP', uid: 1234, gid: 1234, gecos: '', home: '/home/alice', groups: [{ name: 'alice', gid: 1234 }] };
const withJail = (jail: Partial<Config['jail']>, session: Partial<Config['session']> = {}): Config => ({
  ...defaultConfig,
  jail: { ...defaultConfig.jail, ...jail },
  session: { ...defaultConfig.session, ...session },
});

describe("placement: where a user's jail stands, worked out once", () => {
  it('names a per-user jail, its host, home, working directory, lock and /tmp after the user', () => {
    const placed = placementOf(
      withJail({ mode: 'per-user', nameTemplate: 'jail-{user}', hostnameTemplate: '{user}-jail', homeMount: '{home}' }, { workdir: '{home}' }),
      alice,
    );
    assert.deepEqual(placed, {
      vars: { user: 'Alice.Smith@CORP', uid: '1234', home: '/home/alice' },
      name: 'jail-Alice.Smith_40CORP',
      hostname: 'alice-smith-corp-jail',
      homeTarget: '/home/alice',
      workdir: '/home/alice',
      lock: '/run/docker-jail/locks/uid-1234',
      scratchKey: '1234',
    });
  });

  it("gives the shared jail names of its own, never its first user's, one lock and one /tmp, but each user their own home", () => {
    const placed = placementOf(
      withJail({ mode: 'shared', nameTemplate: 'jail-{user}', hostnameTemplate: '{user}-{uid}', homeMount: '/homes/{user}' }, { workdir: '/homes/{user}' }),
      alice,
    );
    assert.equal(placed.name, 'jail-shared');
    assert.equal(placed.hostname, 'shared-shared');
    assert.equal(placed.lock, '/run/docker-jail/locks/shared');
    assert.equal(placed.scratchKey, 'shared');
    assert.equal(placed.homeTarget, '/homes/Alice.Smith@CORP');
    assert.equal(placed.workdir, '/homes/Alice.Smith@CORP');
  });

  it("refuses a home mount that the user's name would put over the jail's system, as a config error naming the key", () => {
    for (const user of ['..', 'etc/x', '.']) {
      assert.throws(
        () => placementOf(withJail({ homeMount: '/{user}' }), { ...alice, user }),
        (error: unknown) => error instanceof JailError && error.exitCode === 78 && /\[jail\] home_mount/.test(error.message),
        user,
      );
    }
  });
});
