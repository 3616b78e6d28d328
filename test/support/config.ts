import { chmodSync, writeFileSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH } from '../../src/host/paths';
import { keepHostFile } from './hostFiles';

const CONFIG = DEFAULT_CONFIG_PATH;

/** A config swap not yet undone, and what puts back the file it replaced. */
interface Swap {
  putBack: () => void;
  undone: boolean;
}

/** Swaps in progress, outermost first. */
const swaps: Swap[] = [];

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
  outermost.putBack();
}
afterEach(undoAbandonedSwaps);
beforeEach(undoAbandonedSwaps); // a swap left by a hook that timed out

/** Runs fn with /etc/docker-jail.ini replaced by text (root-owned, 0644), then puts the original back. */
export async function withConfig<T>(text: string, fn: () => Promise<T> | T, mode = 0o644): Promise<T> {
  // Kept in the journal too: a killed run's swap is put back by the next ./build.sh test.
  const swap: Swap = { putBack: keepHostFile(CONFIG), undone: false };
  swaps.push(swap);
  writeFileSync(CONFIG, text);
  chmodSync(CONFIG, mode); // writeFileSync applies a mode only to a file it creates
  try {
    return await fn();
  } finally {
    if (!swap.undone) {
      swap.undone = true;
      swaps.splice(swaps.indexOf(swap), 1);
      swap.putBack();
    }
  }
}
