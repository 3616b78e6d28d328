/**
 * Writes the bash completion of docker-jail from the command registry: every
 * command an administrator types, its subcommands and options as its usage
 * declares them, user names (compgen -u) where it takes USER, and file names
 * where it takes FILE. One source, so a command added to the registry is
 * completed without another edit.
 *   tsx tools/bash-completion.ts > build/completions/docker-jail
 */
import type { Command } from '../src/commands/command';
import { COMMANDS } from '../src/commands/registry';

/** What is offered after some words: words (subcommands), options, and whether user or file names. */
interface Offer {
  words: string[];
  options: string[];
  users: boolean;
  files: boolean;
}

const HELP_OPTIONS = ['--help', '-h'];
const OPTION = /(?<![\w-])--?[A-Za-z][\w-]*/g;
/** A literal word of a synopsis after the command's name: a subcommand (`config check`, `image build`). */
const SUBCOMMAND = /^[a-z][a-z-]*$/;

function offerOf(synopses: string[]): Offer {
  const text = synopses.join(' ');
  return {
    words: [],
    options: [...new Set([...(text.match(OPTION) ?? []), ...HELP_OPTIONS])],
    users: /\bUSER\b/.test(text),
    files: /\bFILE\b/.test(text),
  };
}

/** The offers of one command, keyed by what was typed: `NAME`, and `NAME SUB` for each subcommand. */
function offersOf(command: Command): Map<string, Offer> {
  const offers = new Map<string, Offer>();
  const synopses = command.usage.map((u) => u.synopsis);
  const subcommands = new Map<string, string[]>();
  for (const synopsis of synopses) {
    for (const alternative of synopsis.split(/\s+\|\s+/)) {
      const words = alternative.split(/\s+/);
      const sub = words[0] === command.name ? words[1] : undefined;
      if (sub !== undefined && SUBCOMMAND.test(sub)) subcommands.set(sub, [...(subcommands.get(sub) ?? []), alternative]);
    }
  }
  if (subcommands.size === 0) {
    offers.set(command.name, offerOf(synopses));
    return offers;
  }
  offers.set(command.name, { words: [...subcommands.keys()], options: HELP_OPTIONS, users: false, files: false });
  for (const [sub, alternatives] of subcommands) offers.set(`${command.name} ${sub}`, offerOf(alternatives));
  return offers;
}

/** The completion script: one table (a case on what was typed) and the few lines that read it. */
export function completionScript(commands: readonly Command[] = COMMANDS): string {
  // Only what an administrator types: the commands the system starts (no help) are left out.
  const typed = commands.filter((c) => c.help !== null);
  const offers = new Map<string, Offer>();
  for (const command of typed) {
    for (const [key, offer] of offersOf(command)) {
      const known = offers.get(key);
      offers.set(key, known === undefined ? offer : mergeOffers(known, offer));
    }
  }
  const withSubcommands = [...new Set(typed.filter((c) => (offers.get(c.name)?.words.length ?? 0) > 0).map((c) => c.name))];
  const names = [...new Set(typed.map((c) => c.name))];
  const cases = [...offers].map(
    ([key, o]) =>
      `        '${key}') words='${o.words.join(' ')}' options='${o.options.join(' ')}' users=${o.users ? 1 : ''} files=${o.files ? 1 : ''} ;;`,
  );
  return `# bash completion for docker-jail(8): commands, subcommands, options, user names.
# Generated from src/commands/registry.ts by tools/bash-completion.ts; do not edit.
_docker_jail() {
    local cur=\${COMP_WORDS[COMP_CWORD]} key words options users files
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        key=
    else
        key=\${COMP_WORDS[1]}
        case $key in
            ${withSubcommands.length > 0 ? withSubcommands.join('|') : "''"}) [ "$COMP_CWORD" -gt 2 ] && key="$key \${COMP_WORDS[2]}" ;;
        esac
    fi
    case $key in
        '') words='${names.join(' ')}' options='--help -h --version' users= files= ;;
${cases.join('\n')}
        *) return 0 ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
        return 0
    fi
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
    if [ -n "$users" ]; then mapfile -t -O "\${#COMPREPLY[@]}" COMPREPLY < <(compgen -u -- "$cur"); fi
    if [ -n "$files" ]; then compopt -o filenames 2>/dev/null; mapfile -t -O "\${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur"); fi
    return 0
}
complete -F _docker_jail docker-jail
`;
}

function mergeOffers(a: Offer, b: Offer): Offer {
  return {
    words: [...new Set([...a.words, ...b.words])],
    options: [...new Set([...a.options, ...b.options])],
    users: a.users || b.users,
    files: a.files || b.files,
  };
}

if (process.argv[1]?.endsWith('bash-completion.ts')) process.stdout.write(completionScript());
