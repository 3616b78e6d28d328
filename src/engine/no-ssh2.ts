/**
 * Stands in for the ssh2 package when bundling: docker-modem can reach an
 * engine over SSH, docker-jail never does (only the configured unix socket),
 * so none of that code is shipped in the privileged executable.
 */
export class Client {
  constructor() {
    throw new Error('docker-jail reaches the Docker engine through its unix socket only');
  }
}
