/**
 * Text for an administrator's terminal. User names, GECOS, login shells and
 * the like come from the user database, which a directory or a user (chfn)
 * may fill: an ESC, CR or BEL printed raw would let them retitle the terminal,
 * overwrite a line or answer back into root's shell. So every C0 and C1
 * control character and DEL is shown escaped, as \xNN; `keepNewlines` leaves
 * line ends to multi-line messages the program itself wrote.
 */
export function printable(text: string, keepNewlines = false): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) =>
    char === '\n' && keepNewlines ? char : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** JSON for a terminal: JSON.stringify escapes C0 controls but leaves DEL and C1 controls raw. */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What a command reports as it goes (enable, gc, image update), one escaped line each, on its output. */
export function printLines(output: { write(text: string): unknown }): (line: string) => void {
  return (line) => output.write(`${printable(line)}\n`);
}
