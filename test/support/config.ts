import { chmodSync, chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const CONFIG = '/etc/docker-jail.ini';

/** Runs fn with /etc/docker-jail.ini replaced by text (root-owned, 0644), then puts the original back. */
export async function withConfig<T>(text: string, fn: () => Promise<T> | T, mode = 0o644): Promise<T> {
  const original = existsSync(CONFIG) ? readFileSync(CONFIG) : null;
  writeFileSync(CONFIG, text);
  chmodSync(CONFIG, mode); // writeFileSync applies a mode only to a file it creates
  try {
    return await fn();
  } finally {
    if (original === null) rmSync(CONFIG, { force: true });
    else {
      writeFileSync(CONFIG, original);
      chownSync(CONFIG, 0, 0);
      chmodSync(CONFIG, 0o644);
    }
  }
}
