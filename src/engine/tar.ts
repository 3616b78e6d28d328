/** A minimal ustar writer: enough to hand the jail a few small root-owned files through the Engine API. */
export type TarEntry =
  | { type: 'file'; name: string; content: string; mode: number }
  | { type: 'dir'; name: string; mode: number }
  | { type: 'symlink'; name: string; target: string };

export function tarArchive(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    if (entry.type === 'dir') blocks.push(tarHeader(entry.name, 0, entry.mode, '5', ''));
    else if (entry.type === 'symlink') blocks.push(tarHeader(entry.name, 0, 0o777, '2', entry.target));
    else {
      const body = Buffer.from(entry.content, 'utf8');
      blocks.push(tarHeader(entry.name, body.length, entry.mode, '0', ''), body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function tarHeader(name: string, size: number, mode: number, type: '0' | '2' | '5', linkTarget: string): Buffer {
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(linkTarget) > 100) throw new Error(`tar entry name too long: ${name}`);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(mode, 8), 100);
  header.write(octal(0, 8), 108); // uid root
  header.write(octal(0, 8), 116); // gid root
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136); // mtime
  header.write('        ', 148); // checksum placeholder
  header.write(type, 156);
  header.write(linkTarget, 157, 100, 'utf8');
  header.write('ustar\u000000', 257);
  header.write('root', 265);
  header.write('root', 297);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(octal(sum, 7) + ' ', 148);
  return header;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\u0000';
}
