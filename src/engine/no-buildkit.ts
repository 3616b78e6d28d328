/**
 * Stands in for @grpc/grpc-js, @grpc/proto-loader and protobufjs when
 * bundling: dockerode loads them for BuildKit sessions and build progress,
 * which docker-jail never uses (its image is imported, not built). Leaving
 * them out takes 850 KB of code the privileged executable would otherwise
 * parse at every login.
 */
function refuse(): never {
  throw new Error('docker-jail does not use BuildKit');
}

export class Server {
  constructor() {
    refuse();
  }
}
export const ServerCredentials = { createInsecure: refuse };
export const loadPackageDefinition = refuse;
export const loadSync = refuse;
