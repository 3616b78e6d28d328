/**
 * The labels every jail carries: it is found by them, never by its name alone
 * (SECURITY.md, invariant 1). They are made and read here, and nowhere else.
 */
export const LABEL_MANAGED = 'io.docker-jail.managed';
/** Per-user jails: the uid and user name it was made for (a uid may have been given to a new account since). */
export const LABEL_UID = 'io.docker-jail.uid';
export const LABEL_USER = 'io.docker-jail.user';
/** `true` on the one jail of shared mode. */
export const LABEL_SHARED = 'io.docker-jail.shared';
/** The hash of the seccomp profile the jail was made with (loadSeccompProfile). */
export const LABEL_SECCOMP = 'io.docker-jail.seccomp';
/** `agent` on a jail whose init is the session agent (session/agent.ts); absent on one serving sessions by docker exec. */
export const LABEL_SESSIONS = 'io.docker-jail.sessions';
/** An agent jail's gids, primary first: its init, and so every session it starts, has exactly these. */
export const LABEL_GROUPS = 'io.docker-jail.groups';

/** What a jail's labels say of it. */
export interface JailLabels {
  /** The uid and user name it was made for; null for the shared jail. */
  uid: number | null;
  user: string | null;
  /** The hash of the seccomp profile it was made with; null when made before the package shipped one. */
  seccomp: string | null;
  /** Its init is the session agent; its gids as LABEL_GROUPS lists them. */
  agent: boolean;
  groups: string | null;
}

/** Reads a container's labels (as the engine lists or inspects them). */
export function labelsOf(labels: Record<string, string> | null | undefined): JailLabels {
  const uid = labels?.[LABEL_UID];
  return {
    uid: uid === undefined ? null : Number(uid),
    user: labels?.[LABEL_USER] ?? null,
    seccomp: labels?.[LABEL_SECCOMP] ?? null,
    agent: labels?.[LABEL_SESSIONS] === 'agent',
    groups: labels?.[LABEL_GROUPS] ?? null,
  };
}

/** The value of LABEL_GROUPS for these credentials. */
export function groupsLabel(agent: { gid: number; groups: number[] }): string {
  return [agent.gid, ...[...new Set(agent.groups)].filter((g) => g !== agent.gid).sort((a, b) => a - b)].join(',');
}

/** The labels of a jail made now: the shared one, or a user's; with the agent's credentials when its init is the agent. */
export function labelsFor(
  owner: { uid: number; user: string } | 'shared',
  seccomp: string,
  agent: { gid: number; groups: number[] } | null,
): Record<string, string> {
  const labels: Record<string, string> =
    owner === 'shared'
      ? { [LABEL_MANAGED]: 'true', [LABEL_SHARED]: 'true', [LABEL_SECCOMP]: seccomp }
      : { [LABEL_MANAGED]: 'true', [LABEL_UID]: String(owner.uid), [LABEL_USER]: owner.user, [LABEL_SECCOMP]: seccomp };
  if (agent !== null) Object.assign(labels, { [LABEL_SESSIONS]: 'agent', [LABEL_GROUPS]: groupsLabel(agent) });
  return labels;
}
