import { sh } from './host';

const WITNESS_SOURCE = `${__dirname}/preload-witness.c`;

/** Builds a shared library that creates the file `witness` when any process loads it (preload-witness.c). */
export function buildPreloadWitness(witness: string, library: string): void {
  if (/["\\'\n]/.test(witness)) throw new Error(`a witness path must be a plain C string: ${witness}`);
  sh(`gcc -shared -fPIC -DWITNESS='"${witness}"' -o ${library} ${WITNESS_SOURCE}`);
}
