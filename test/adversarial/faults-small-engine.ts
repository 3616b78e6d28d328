import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { run, sh, waitFor } from '../support/host';

const SMALL_BRIDGE = 'djt-small0';

/**
 * A second Docker engine of its own, beside the shared one, whose data root is
 * a small ext4 filesystem (a loop-mounted file): the only honest way to fill an
 * engine's disk on a shared machine, where the real engine's data root is the
 * host's root filesystem. It holds one tiny jail image made from the host's
 * static busybox. The shared engine is never touched.
 */
export class SmallEngine {
  readonly socket: string;
  readonly dataRoot: string;
  readonly image = 'djt-faults/busybox:1';
  private constructor(
    private readonly dir: string,
    private readonly daemon: ChildProcess,
  ) {
    this.socket = `${dir}/docker.sock`;
    this.dataRoot = `${dir}/data`;
  }

  /** extraArgs go to its dockerd (`--seccomp-profile=unconfined`, say). */
  static async start(sizeMiB: number, extraArgs: string[] = []): Promise<SmallEngine> {
    const dir = mkdtempSync('/run/djt-faults-engine-');
    chmodSync(dir, 0o755);
    const disk = `/var/tmp/${basename(dir)}.img`;
    sh(`truncate -s ${sizeMiB}M ${disk} && mkfs.ext4 -q -F ${disk} && mkdir ${dir}/data ${dir}/exec && mount -o loop ${disk} ${dir}/data`);
    writeFileSync(`${dir}/daemon.json`, '{}\n');
    // A bridge of its own: with --bridge=none a dockerd deletes docker0, the shared engine's bridge, at its start.
    sh(`ip link add name ${SMALL_BRIDGE} type bridge 2>/dev/null || ip link show ${SMALL_BRIDGE} >/dev/null`);
    const daemon = spawn(
      '/usr/sbin/dockerd',
      [
        `--data-root=${dir}/data`,
        `--exec-root=${dir}/exec`,
        `--pidfile=${dir}/docker.pid`,
        `--host=unix://${dir}/docker.sock`,
        `--config-file=${dir}/daemon.json`,
        '--storage-driver=overlay2',
        `--bridge=${SMALL_BRIDGE}`,
        '--iptables=false',
        '--ip-masq=false',
        '--log-level=error',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const engine = new SmallEngine(dir, daemon);
    try {
      await waitFor('the small engine to answer', () => engine.docker('version --format {{.Server.Version}}').status === 0, 30_000);
      engine.buildImage();
    } catch (error) {
      await engine.stop();
      throw error;
    }
    return engine;
  }

  /** The docker CLI against this engine. */
  docker(args: string): { status: number | null; stdout: string; stderr: string } {
    return run('/bin/sh', ['-c', `docker -H unix://${this.socket} ${args}`]);
  }

  /** Free bytes on the engine's data root, as root sees them (reserved blocks included). */
  freeBytes(): number {
    return Number(sh(`df -B1 --output=avail ${this.dataRoot} | tail -1`).trim());
  }

  /** A jail image of a few MiB: busybox and its applets, /etc/passwd and /etc/group for the engine to read. */
  private buildImage(): void {
    const root = mkdtempSync('/tmp/djt-faults-rootfs-');
    try {
      for (const sub of ['bin', 'etc', 'tmp', 'var', 'var/tmp', 'home', 'root']) mkdirSync(`${root}/${sub}`);
      for (const sub of ['tmp', 'var/tmp']) chmodSync(`${root}/${sub}`, 0o1777);
      sh(`cp /bin/busybox ${root}/bin/busybox && for a in $(${root}/bin/busybox --list); do [ -e ${root}/bin/$a ] || ln -s busybox ${root}/bin/$a; done`);
      writeFileSync(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
      writeFileSync(`${root}/etc/group`, 'root:x:0:\nnogroup:x:65534:\n');
      const result = run('/bin/sh', ['-c', `tar -C ${root} -c . | docker -H unix://${this.socket} import - ${this.image}`]);
      if (result.status !== 0) throw new Error(`importing the busybox image failed: ${result.stderr}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }

  async stop(): Promise<void> {
    if (this.daemon.exitCode === null) {
      this.docker('ps -aq | xargs -r docker -H unix://' + this.socket + ' rm -f >/dev/null 2>&1');
      this.daemon.kill('SIGTERM');
      await new Promise((resolve) => (this.daemon.exitCode !== null ? resolve(null) : this.daemon.once('exit', resolve)));
    }
    run('/bin/sh', ['-c', `umount ${this.dir}/data 2>/dev/null || umount -l ${this.dir}/data`]);
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
    rmSync(`/var/tmp/${basename(this.dir)}.img`, { force: true });
    run('/bin/sh', ['-c', `ip link del ${SMALL_BRIDGE} 2>/dev/null || true`]);
  }
}
