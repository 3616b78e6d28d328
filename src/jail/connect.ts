import type { Config } from '../config/types';
import { connectEngine, type Engine } from '../engine/client';

/** The engine named in the config (its socket checked root-owned), for the commands, which reach the engine through the domain only. */
export function engineFor(config: Config): Engine {
  return connectEngine(config.engine.socket);
}
