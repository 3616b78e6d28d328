import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const CONFIG = '/etc/docker-jail.ini';

/** Runs fn with /etc/docker-jail.ini replaced by text (root-owned, 0644), then puts the original back. */
export async function withConfig<T>(text: string, fn: () => Promise<T> | T, mode = 0o644): Promise<T> {
  const original = existsSync(CONFIG) ? readFileSync(CONFIG) : null;
  writeFileSync(CONFIG, text, { mode });
  try {
    return await fn();
  } finally {
    if (original === null) rmSync(CONFIG, { force: true });
    else writeFileSync(CONFIG, original, { mode: 0o644 });
  }
}
