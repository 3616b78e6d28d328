/**
 * Writes docker-jail.ini(5) from the full example of the configuration
 * (etc/examples/docker-jail.ini), whose comments document every key: one
 * source, so the manual page never drifts from the settings.
 *   tsx tools/ini-manpage.ts etc/examples/docker-jail.ini VERSION DATE > build/docker-jail.ini.5
 */
import { readFileSync } from 'node:fs';

/** Text as roff: backslashes and hyphens escaped, no line starting with a control character. */
function roff(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/, '\\&$1');
}

/** The manual page of the example's text. */
export function iniManpage(text: string, version: string, date: string): string {
  const lines = text.split('\n');
  const out: string[] = [
    `.TH DOCKER-JAIL.INI 5 "${date}" "docker-jail ${version}" "File Formats"`,
    '.SH NAME',
    'docker\\-jail.ini \\- configuration of docker\\-jail',
    '.SH DESCRIPTION',
  ];
  let comment: string[] = [];
  let inHeader = true;
  /** A comment block as roff; a blank comment line starts a new paragraph (indented under a key). */
  const paragraphs = (breakWith: string) => comment.map((l) => (l === '' ? breakWith : roff(l))).join('\n');
  const flush = () => {
    if (comment.length > 0) out.push(paragraphs('.PP'), '.PP');
    comment = [];
  };
  for (const line of lines.slice(1)) {
    const section = /^\[(\w+)\]$/.exec(line);
    const key = /^# (\w+) = ?(.*)$/.exec(line);
    if (section) {
      flush();
      inHeader = false;
      // Written as the file must have it: section names are lower case, and [ENGINE] is refused (man-pages(7)
      // upper-cases only the standard headings; a quoted .SH keeps the name as it is).
      out.push(`.SH "[${section[1]}]"`);
    } else if (key) {
      out.push(`.TP\n.BI "${key[1]} = " "${roff(key[2] === '' ? '(empty)' : key[2]).replace(/"/g, '\\(dq')}"`, paragraphs('.IP'));
      comment = [];
    } else if (line.startsWith('#')) {
      const text = line.replace(/^# ?/, '');
      if (text !== '' || comment.length > 0) comment.push(text);
    } else if (line.trim() === '') {
      if (inHeader) flush();
    }
  }
  flush();
  out.push(
    '.SH FILES',
    '.TP',
    '.I /etc/docker\\-jail.ini',
    'The configuration; it sets only what differs from the defaults.',
    '.TP',
    '.I /usr/share/doc/docker\\-jail/examples/docker\\-jail.ini',
    'Every setting with its default, commented out, as on this page.',
    '.SH SEE ALSO',
    '.BR docker\\-jail (8),',
    '.BR jailsh (8)',
  );
  return `${out.join('\n').replace(/\n\.PP\n\.SH/g, '\n.SH')}\n`;
}

if (require.main === module) {
  const [file, version, date] = process.argv.slice(2);
  if (!file || !version || !date) throw new Error('usage: tsx tools/ini-manpage.ts INI VERSION DATE');
  process.stdout.write(iniManpage(readFileSync(file, 'utf8'), version, date));
}
