// The host's judgement of a jail's agent, from /proc alone (src/session/agent.ts):
// a fake /proc and a real socket file stand in for the jail.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { AGENT_DIR_IN_JAIL, ATTACH_PROGRAM } from '../src/host/paths';
import type { Identity } from '../src/identity/nss';
import { type AgentState, agentProblem, attachArgs, hasCredentials, listening, loadAgentState, pruneAgentStates, saveAgentState } from '../src/session/agent';

const uid = process.getuid?.() ?? 0;
const identity: Identity = {
  user: 'jo',
  uid,
  gid: 1000,
  home: '/home/jo',
  gecos: '',
  groups: [
    { gid: 1000, name: 'jo' },
    { gid: 990, name: 'jailed' },
  ],
} as Identity;
const CGROUP = '0::/system.slice/docker-abc.scope\n';
const LISTENING = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 4242 ${AGENT_DIR_IN_JAIL}/socket
0000000000000000: 00000003 00000000 00000000 0001 03 4343 ${AGENT_DIR_IN_JAIL}/socket
`;

describe('session agent: the host judges it from /proc alone', () => {
  let proc: string;
  let scratch: string;
  let server: Server;
  const state = (): AgentState => ({ user: 'jo', jailId: 'abc', jailName: 'jail-jo', pid: 7, start: 500, cgroup: { cgroups: CGROUP, init: 7 }, scratch });

  const fakeAgent = (options: { run?: string; start?: number; groups?: string; uid?: number; table?: string; fds?: string[] } = {}) => {
    rmSync(`${proc}/7`, { recursive: true, force: true });
    mkdirSync(`${proc}/7/net`, { recursive: true });
    mkdirSync(`${proc}/7/fd`);
    writeFileSync(`${proc}/7/cgroup`, CGROUP);
    writeFileSync(`${proc}/7/stat`, `7 (docker-jail-age) ${options.run ?? 'S'} 0 ${Array.from({ length: 17 }, () => '0').join(' ')} ${options.start ?? 500} 0`);
    const u = options.uid ?? uid;
    writeFileSync(`${proc}/7/status`, `Uid:\t${u}\t${u}\t${u}\t${u}\nGid:\t1000\t1000\t1000\t1000\nGroups:\t${options.groups ?? '990 1000'}\n`);
    writeFileSync(`${proc}/7/net/unix`, options.table ?? LISTENING);
    for (const [i, target] of (options.fds ?? ['/dev/null', 'socket:[4242]']).entries()) symlinkSync(target, `${proc}/7/fd/${i}`);
  };

  before(async () => {
    scratch = mkdtempSync('/tmp/djt-agent-state-');
    mkdirSync(`${scratch}/agent`);
    server = createServer();
    await new Promise<void>((resolve) => server.listen(`${scratch}/agent/socket`, resolve));
  });
  after(() => {
    server.close();
    rmSync(scratch, { recursive: true, force: true });
  });
  beforeEach(() => (proc = mkdtempSync('/tmp/djt-agent-proc-')));
  afterEach(() => rmSync(proc, { recursive: true, force: true }));

  it("takes an agent that is the same process, running, with the user's credentials, listening on its own socket", () => {
    fakeAgent();
    assert.equal(agentProblem(state(), identity, proc), null);
  });

  it('sends the login down the slow path for every other agent', () => {
    fakeAgent({ start: 501 });
    assert.equal(agentProblem(state(), identity, proc), 'gone', 'a pid reused by another process');
    assert.equal(agentProblem({ ...state(), user: 'jo2' }, identity, proc), 'gone', 'another account with the same uid');
    for (const run of ['T', 't', 'Z']) {
      fakeAgent({ run });
      assert.equal(agentProblem(state(), identity, proc), 'stopped', `state ${run}`);
    }
    fakeAgent({ groups: '1000' });
    assert.equal(agentProblem(state(), identity, proc), 'credentials', 'a group missing');
    fakeAgent({ groups: '990 1000 27' });
    assert.equal(agentProblem(state(), identity, proc), 'credentials', 'a group too many');
    fakeAgent({ uid: uid + 1 });
    assert.equal(agentProblem(state(), identity, proc), 'credentials', 'another uid');
    fakeAgent({ fds: ['socket:[4343]'] });
    assert.equal(agentProblem(state(), identity, proc), 'not listening', 'its fd is the connected socket, not the listening one');
    fakeAgent({ table: LISTENING.replace('00010000', '00000000') });
    assert.equal(agentProblem(state(), identity, proc), 'not listening', 'bound, listen(2) not called');
    fakeAgent();
    assert.equal(agentProblem({ ...state(), scratch: `${scratch}/none` }, identity, proc), 'no socket', "the socket's name removed");
  });

  it("reads the socket table strictly: the path must be the agent's, the type a stream", () => {
    fakeAgent({ table: LISTENING.replace(`${AGENT_DIR_IN_JAIL}/socket`, `${AGENT_DIR_IN_JAIL}/socket2`) });
    assert.equal(listening(7, proc), false);
    fakeAgent({ table: LISTENING.replace('00010000 0001', '00010000 0002') });
    assert.equal(listening(7, proc), false);
    fakeAgent();
    assert.equal(listening(7, proc), true);
    assert.equal(listening(8, proc), false);
  });

  it("wants all four uids and gids the user's and exactly their groups", () => {
    fakeAgent();
    assert.equal(hasCredentials(7, identity, proc), true);
    writeFileSync(`${proc}/7/status`, `Uid:\t${uid}\t${uid}\t${uid + 1}\t${uid}\nGid:\t1000\t1000\t1000\t1000\nGroups:\t990\n`);
    assert.equal(hasCredentials(7, identity, proc), false);
  });

  it('forgets the agents of jails gc no longer finds, and unreadable records', () => {
    const dir = mkdtempSync('/tmp/djt-agent-states-');
    try {
      saveAgentState(1001, { ...state(), jailId: 'kept' }, dir);
      saveAgentState(1002, { ...state(), jailId: 'gone' }, dir);
      writeFileSync(`${dir}/1003.json`, '{');
      pruneAgentStates(new Set(['kept']), dir);
      assert.deepEqual(readdirSync(dir), ['1001.json']);
      assert.equal(loadAgentState(1001, dir)?.jailId, 'kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives attach the session on its command line, in its order', () => {
    const args = attachArgs({
      state: state(),
      identity,
      parent: 42,
      tty: true,
      killOnLogout: true,
      workdir: '/home/jo',
      argv: ['/bin/sh', '-c', 'x'],
      env: ['A=1'],
      audit: { head: 'user="jo"', tail: 'command=null' },
    });
    assert.deepEqual(args, [ATTACH_PROGRAM, 'socket', CGROUP, '42', 'tty,kill-on-logout', '/home/jo', 'user="jo"', 'command=null', '--', '/bin/sh', '-c', 'x']);
  });
});
