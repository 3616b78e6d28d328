import { readFileSync } from 'node:fs';
import { run, sh, waitFor } from './host';

export const engineAnswers = (): boolean => run('/usr/bin/docker', ['version', '--format', '{{.Server.Version}}']).status === 0;

/** The engine is managed by systemd where it runs, else it is the dockerd that ./build.sh test started. */
const systemd = run('/bin/sh', ['-c', 'command -v systemctl >/dev/null && systemctl is-active --quiet docker']).status === 0;

/** Stops the real Docker engine and waits until it no longer answers. */
export async function stopEngine(): Promise<void> {
  if (systemd) sh('systemctl stop docker.socket docker.service');
  else sh(`kill -TERM ${readFileSync('/var/run/docker.pid', 'utf8').trim()}`);
  await waitFor('the engine to stop', () => !engineAnswers() && run('/bin/sh', ['-c', 'test -e /var/run/docker.pid']).status !== 0, 60_000);
}

/** Starts the engine again (when it is not running) and waits until it answers. */
export async function startEngine(): Promise<void> {
  if (!engineAnswers()) {
    if (systemd) sh('systemctl start docker');
    // A session of its own: the engine outlives the job that ran the tests (a shell's job control ends its group).
    else sh('setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &');
  }
  await waitFor('the engine to answer again', engineAnswers, 60_000);
}
