
export const LABEL_MANAGED = 'io.docker-jail.managed';

export const LABEL_UID = 'io.docker-jail.uid';

export const LABEL_USER = 'io.docker-jail.user';

export const LABEL_SHARED = 'io.docker-jail.shared';

/** The hash of the seccomp profile the jail was made with (loadSeccompProfile). */
export const LABEL_SECCOMP = 'io.docker-jail.seccomp';

/** `agent` on a jail whose init is the session agent (session/agent.ts); absent on one serving sessions by docker exec. */
export const LABEL_SESSIONS = 'io.docker-jail.sessions';

/** An agent jail's gids, primary first: its init, and so every session it starts, has exactly these. */
export const LABEL_GROUPS = 'io.docker-jail.groups';
