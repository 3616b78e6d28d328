import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { jailIdentityFiles } from '../src/identity/jailFiles';
import { type Nss, onlyLine, resolveIdentity, resolveIdentityAndGroups, uidOfUser } from '../src/identity/nss';
import { registerSharedUser } from '../src/jail/sharedUsers';

const nss: Nss = {
  passwdByUid: (uid) => (uid === 5001 ? 'jo@corp:x:5001:5000:Jo Smith,,,:/home/jo@corp:/usr/bin/jailsh' : null),
  passwdByName: (name) => (name === 'jo@corp' ? 'jo@corp:x:5001:5000:Jo Smith,,,:/home/jo@corp:/usr/bin/jailsh' : null),
  groupIdsOf: () => [5000, 990, 27],
  groupLines: (keys) => ['staff:x:5000:', 'jailed:x:990:jo@corp', 'sudo:x:27:jo@corp'].filter((line) => keys.includes(line.split(':')[2])),
};

describe('identity: the user behind a uid, through NSS', () => {
  it('resolves name, gid, home and every group, primary first', () => {
    const identity = resolveIdentity(5001, nss);
    assert.equal(identity.user, 'jo@corp');
    assert.equal(identity.home, '/home/jo@corp');
    assert.deepEqual(identity.groups, [
      { gid: 5000, name: 'staff' },
      { gid: 990, name: 'jailed' },
      { gid: 27, name: 'sudo' },
    ]);
  });

  it('refuses an unknown uid, a malformed entry, and an entry for another uid', () => {
    assert.throws(() => resolveIdentity(7, nss), /uid 7 is not a known user/);
    assert.throws(() => resolveIdentity(1, { ...nss, passwdByUid: () => 'a:x:1:1' }), /malformed passwd/);
    assert.throws(() => resolveIdentity(1, { ...nss, passwdByUid: () => 'a:x:2:1::/home/a:/bin/sh' }), /uid 2 when asked for uid 1/);
    assert.throws(() => resolveIdentity(1, { ...nss, passwdByUid: () => 'a:x:1:1::home:/bin/sh' }), /no absolute home/);
  });

  it('finds the uid of a user name, never reading a name of digits as a uid', () => {
    assert.equal(uidOfUser('jo@corp', nss), 5001);
    assert.equal(uidOfUser('nobody-here', nss), null);
    assert.equal(uidOfUser('5001', nss), null);
    assert.equal(uidOfUser('', nss), null);
  });

  it("looks up the config's groups in the same call as the user's, names first", () => {
    const asked: string[][] = [];
    const lines = ['admins:x:980:', 'jailed:x:990:jo@corp', 'staff:x:5000:', 'sudo:x:27:jo@corp'];
    const { identity, groupIdOf } = resolveIdentityAndGroups(5001, ['admins', 'jailed', 'absent'], {
      ...nss,
      groupLines: (keys) => {
        asked.push(keys);
        return lines.filter((line) => keys.includes(line.split(':')[0]) || keys.includes(line.split(':')[2]));
      },
    });
    // One key found nothing: the named groups are then asked for one by one.
    assert.deepEqual(asked, [['admins', 'jailed', 'absent', '5000', '990', '27'], ['admins'], ['jailed'], ['absent']]);
    assert.equal(groupIdOf('admins'), 980);
    assert.equal(groupIdOf('jailed'), 990);
    assert.equal(groupIdOf('absent'), null);
    assert.throws(() => groupIdOf('sudo'), /not looked up/);
    assert.deepEqual(
      identity.groups.map((g) => g.gid),
      [5000, 990, 27],
    );
  });

  it("takes a named group's gid from the name lookup, not from a group of the user that shares the name", () => {
    // getent answers in the order asked: the name's own answer (gid 990) comes before the user's gid 4242 named alike.
    const { groupIdOf } = resolveIdentityAndGroups(5001, ['jailed'], {
      ...nss,
      groupIdsOf: () => [5000, 4242],
      groupLines: () => ['jailed:x:990:', 'staff:x:5000:', 'jailed:x:4242:jo@corp'],
    });
    assert.equal(groupIdOf('jailed'), 990);
  });

  it('skips a malformed line of an unrelated group, and names that group after its gid', () => {
    const { identity, groupIdOf } = resolveIdentityAndGroups(5001, ['jailed'], {
      ...nss,
      groupLines: (keys) => (keys.length === 1 ? ['jailed:x:990:jo@corp'] : ['jailed:x:990:jo@corp', 'staff:x:5000:', 'odd:name:x:27:jo@corp']),
    });
    assert.equal(groupIdOf('jailed'), 990);
    assert.deepEqual(
      identity.groups.map((g) => g.name),
      ['staff', 'jailed', 'gid27'],
    );
  });

  it("cannot be handed a named group by a newline in another group's name: each name is then asked for alone", () => {
    // A directory group named "x\nadmins" with gid 27 prints as two lines; the second looks like admins.
    const asked: string[][] = [];
    const { groupIdOf } = resolveIdentityAndGroups(5001, ['admins', 'jailed'], {
      ...nss,
      groupLines: (keys) => {
        asked.push(keys);
        if (keys.length === 1) return keys[0] === 'jailed' ? ['jailed:x:990:jo@corp'] : [];
        return ['jailed:x:990:jo@corp', 'staff:x:5000:', 'x', 'admins:x:27:jo@corp'];
      },
    });
    assert.equal(groupIdOf('admins'), null);
    assert.equal(groupIdOf('jailed'), 990);
    assert.deepEqual(asked.slice(1), [['admins'], ['jailed']]);
  });

  it('cannot be handed the exempt group by a newline that keeps the line count: a key not found and a group printing as two lines', () => {
    // The exempt group does not exist; gid 7000's directory name is "a:x:7000:\nadmins:x:7000:" (two well-formed lines).
    const { groupIdOf } = resolveIdentityAndGroups(5001, ['admins', 'jailed'], {
      ...nss,
      groupIdsOf: () => [5000, 990, 7000],
      groupLines: (keys) =>
        keys.length === 1
          ? keys[0] === 'jailed'
            ? ['jailed:x:990:jo@corp']
            : []
          : ['jailed:x:990:jo@corp', 'staff:x:5000:', 'jailed:x:990:jo@corp', 'a:x:7000:', 'admins:x:7000:'],
    });
    assert.equal(groupIdOf('admins'), null);
    assert.equal(groupIdOf('jailed'), 990);
  });

  it('refuses a passwd entry that getent prints as more than one line (a newline in the gecos)', () => {
    assert.equal(onlyLine('jo:x:5001:5000:Jo:/home/jo:/usr/bin/jailsh\n', 'jo'), 'jo:x:5001:5000:Jo:/home/jo:/usr/bin/jailsh');
    assert.throws(
      () => onlyLine('jo:x:5001:5000:X:/home/x:/bin/sh\nY:/home/jo:/usr/bin/jailsh\n', 'jo'),
      /^JailError: NSS returned 2 lines for the user jo; refusing an entry with a newline in it$/,
    );
  });

  it('names a group NSS cannot name after its gid', () => {
    const identity = resolveIdentity(5001, { ...nss, groupLines: () => [] });
    assert.deepEqual(
      identity.groups.map((g) => g.name),
      ['gid5000', 'gid990', 'gid27'],
    );
  });
});

describe("identity: the jail's /etc/passwd and /etc/group", () => {
  const identity = resolveIdentity(5001, nss);
  const files = jailIdentityFiles([{ identity, home: '/home/jo@corp' }], '/bin/bash');

  it('names the user and only the system entries a jail needs', () => {
    assert.deepEqual(files.passwd.trim().split('\n'), [
      'root:x:0:0:root:/root:/usr/sbin/nologin',
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
      'jo@corp:x:5001:5000:Jo Smith,,,:/home/jo@corp:/bin/bash',
    ]);
  });

  it('lists the user in each supplementary group, so the engine gives them to the session', () => {
    assert.deepEqual(files.group.trim().split('\n'), [
      'root:x:0:',
      'tty:x:5:',
      'nogroup:x:65534:',
      'staff:x:5000:',
      'jailed:x:990:jo@corp',
      'sudo:x:27:jo@corp',
    ]);
  });

  it("lets the user's own groups win over a system entry with the same gid", () => {
    const clash = { ...identity, groups: [...identity.groups, { name: 'terminals', gid: 5 }] };
    const lines = jailIdentityFiles([{ identity: clash, home: '/h' }], '/bin/sh').group.split('\n');
    assert.ok(!lines.includes('tty:x:5:'));
    assert.ok(lines.includes('terminals:x:5:jo@corp'));
  });

  it('cannot be made to add a line through the gecos field', () => {
    const hostile = { ...identity, gecos: 'x\nroot2:x:0:0::/:/bin/sh' };
    assert.equal(
      jailIdentityFiles([{ identity: hostile, home: '/h' }], '/bin/sh')
        .passwd.trim()
        .split('\n').length,
      3,
    );
  });
});

describe("identity: the shared jail's files name every user who logged in to it", () => {
  const jo = resolveIdentity(5001, nss);
  const ann = {
    ...jo,
    user: 'ann',
    uid: 5002,
    gid: 5002,
    gecos: '',
    groups: [
      { name: 'ann', gid: 5002 },
      { name: 'jailed', gid: 990 },
    ],
  };

  it('has one passwd line per user and one group line per gid, listing each member', () => {
    const files = jailIdentityFiles(
      [
        { identity: jo, home: '/home/jo' },
        { identity: ann, home: '/home/ann' },
      ],
      '/bin/bash',
    );
    assert.deepEqual(files.passwd.trim().split('\n').slice(2), ['jo@corp:x:5001:5000:Jo Smith,,,:/home/jo:/bin/bash', 'ann:x:5002:5002::/home/ann:/bin/bash']);
    assert.deepEqual(files.group.trim().split('\n').slice(3), ['staff:x:5000:', 'jailed:x:990:jo@corp,ann', 'sudo:x:27:jo@corp', 'ann:x:5002:']);
  });
});

describe("identity: the shared jail's record of its users", () => {
  const dir = mkdtempSync('/tmp/djt-shared-users-');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const jo = resolveIdentity(5001, nss);

  it('keeps everyone who logged in, the current user first, and forgets an older account of the same name', () => {
    const ann = { ...jo, user: 'ann', uid: 5002 };
    registerSharedUser({ identity: jo, home: '/home/jo' }, dir);
    assert.deepEqual(
      registerSharedUser({ identity: ann, home: '/home/ann' }, dir).map((u) => u.identity.uid),
      [5002, 5001],
    );
    const newAnn = { ...ann, uid: 6000 };
    assert.deepEqual(
      registerSharedUser({ identity: newAnn, home: '/home/ann' }, dir).map((u) => u.identity.uid),
      [6000, 5001],
    );
  });
});
