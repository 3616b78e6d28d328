import { type Engine, engineCall } from '../engine/client';
import { JailError } from '../errors';
import { initCgroupOf, type JailCgroup } from '../host/procfs';

/**
 * The jail's cgroups, from its init (SECURITY.md, invariant 10). The engine's
 * pid is believed only if the engine still names it, for the same start of the
 * jail, after /proc was read: a pid that the init left and a host process took
 * meanwhile never stands for the jail. Null when the jail is not running.
 */
export async function jailCgroupOf(engine: Engine, containerId: string, proc = '/proc'): Promise<JailCgroup | null> {
  const container = engine.control.getContainer(containerId);
  const inspect = () => engineCall(engine, 'looking at the jail', () => container.inspect());
  const before = (await inspect()).State;
  if (!before.Running || before.Pid <= 0) return null;
  const cgroup = initCgroupOf(containerId, before.Pid, proc);
  const after = (await inspect()).State;
  if (cgroup === null || !after.Running || after.Pid !== before.Pid || after.StartedAt !== before.StartedAt) {
    throw new JailError("the jail's processes cannot be told apart (its init changed while it was looked at); try again");
  }
  return cgroup;
}
