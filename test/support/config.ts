import { chmodSync, chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH } from '../../src/host/paths';
import { keepHostFile, restoreHostFile } from './hostFiles';

const CONFIG = DEFAULT_CONFIG_PATH;

/** A config swap not yet undone: what the file held before it (null: no file). */
interface Swap {
  original: Buffer | null;
  undone: boolean;
}

/** Swaps in progress, outermost first. */
const swaps: Swap[] = [];

function putBack(original: Buffer | null): void {
  if (original === null) rmSync(CONFIG, { force: true });
  else {
    writeFileSync(CONFIG, original);
    chownSync(CONFIG, 0, 0);
    chmodSync(CONFIG, 0o644);
  }
}

/**
 * Puts back the file as it was before a swap that is still in place once its
 * test has ended: mocha abandons a test (or hook) that times out, and its
 * `finally` runs only when the abandoned body settles, if ever, maybe during
 * the next test. The swap's own `finally` then finds it undone and leaves the
 * file alone. Root hooks (this module is loaded while mocha reads the test
 * files), so they run around every test of every suite.
 */
function undoAbandonedSwaps(): void {
  const outermost = swaps[0];
  if (outermost === undefined) return;
  for (const swap of swaps.splice(0)) swap.undone = true;
  restoreHostFile(CONFIG);
}
afterEach(undoAbandonedSwaps);
beforeEach(undoAbandonedSwaps); // a swap left by a hook that timed out

/** Runs fn with /etc/docker-jail.ini replaced by text (root-owned, 0644), then puts the original back. */
export async function withConfig<T>(text: string, fn: () => Promise<T> | T, mode = 0o644): Promise<T> {
  const swap: Swap = { original: existsSync(CONFIG) ? readFileSync(CONFIG) : null, undone: false };
  if (swaps.length === 0) keepHostFile(CONFIG); // a killed run's swap is put back by the next ./build.sh test
  swaps.push(swap);
  writeFileSync(CONFIG, text);
  chmodSync(CONFIG, mode); // writeFileSync applies a mode only to a file it creates
  try {
    return await fn();
  } finally {
    if (!swap.undone) {
      swap.undone = true;
      swaps.splice(swaps.indexOf(swap), 1);
      if (swaps.length === 0) restoreHostFile(CONFIG);
      else putBack(swap.original);
    }
  }
}
