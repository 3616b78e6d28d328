/**
 * Text for an administrator's terminal. User names, GECOS, login shells and
 * the like come from the user database, which a directory or a user (chfn)
 * may fill: an ESC, CR or BEL printed raw would let them retitle the terminal,
 * overwrite a line or answer back into root's shell. So every C0 and C1
 * control character and DEL is shown escaped, as \xNN; `keepNewlines` leaves
 * line ends to multi-line messages the program itself wrote. The invisible
 * and direction-changing characters (zero-width, bidi overrides, line and
 * paragraph separators, BOM) are shown as \uNNNN: a command a user ran
 * (list, status, top) must read as it is, not reversed or hidden.
 */
export function printable(text: string, keepNewlines = false): string {
  return text.replace(UNPRINTABLE, (char) => {
    if (char === '\n' && keepNewlines) return char;
    const code = char.codePointAt(0) ?? 0;
    if (code > 0xffff) return `\\u{${code.toString(16)}}`;
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/**
 * Controls (C0, DEL, C1), format characters (zero-width, bidi marks and overrides, soft hyphen, tags), line and
 * paragraph separators, and the Hangul fillers that show as blanks.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/gu;

/** JSON for a terminal: JSON.stringify escapes C0 controls but leaves DEL, C1 controls and the invisible ones raw. */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNPRINTABLE, (char) => {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20) return char; // C0 is escaped in strings already; what is left is the layout's own line ends
    // Beyond the BMP, as JSON writes one: its UTF-16 pair.
    return code > 0xffff ? [...char.split('')].map((unit) => `\\u${unit.charCodeAt(0).toString(16)}`).join('') : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** What a command reports as it goes (enable, gc, image update), one escaped line each, on its output. */
export function printLines(output: { write(text: string): unknown }): (line: string) => void {
  return (line) => output.write(`${printable(line)}\n`);
}

// Human units for tables (list, status): durations, sizes and local times, as an administrator reads them.

/** A duration in its two largest units, as `2h 5m`, `3d 4h`, `5m 3s` or `42s`; never a bare count of seconds past a minute. */
export function humanDuration(seconds: number): string {
  const whole = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const first = units.findIndex(([, size]) => whole >= size);
  if (first === -1) return '0s';
  const [unit, size] = units[first];
  const rest = units[first + 1];
  const more = rest === undefined ? 0 : Math.floor((whole % size) / rest[1]);
  return `${Math.floor(whole / size)}${unit}${more > 0 ? ` ${more}${rest[0]}` : ''}`;
}

/** A size in bytes as `ls -h` gives it (binary units): `512M`, `1.5G`, `36K`, `0`. */
export function humanBytes(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  // One decimal below 10 of a unit, as ls -h; a whole number shows none.
  const shown = value < 10 && unit > 0 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown}${units[unit]}`;
}

/** A time (ISO 8601) in the host's local time, to the minute: `2026-12-02 14:05`; `-` for none or one that does not parse. */
export function localTime(iso: string | null): string {
  const when = iso === null ? Number.NaN : Date.parse(iso);
  if (Number.isNaN(when)) return '-';
  const d = new Date(when);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}
