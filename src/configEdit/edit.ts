import { checkConfigFile, DEFAULT_CONFIG_PATH } from '../config/load';
import { checkConfigText } from '../config/parse';
import { ExitCode, JailError } from '../errors';
import { installConfigFile, makeEditDraft, modeOf, readEditDraft, readLiveConfig, removeEditDraft, resolveEditor, runEditor } from '../host/configFiles';
import { EXAMPLE_CONFIG_PATH } from '../host/paths';

/** How an edit ended. */
export type EditOutcome =
  | { kind: 'unchanged'; file: string }
  | { kind: 'installed'; file: string; mode: number }
  | { kind: 'abandoned'; file: string; problems: string[] };

/** What the administrator is asked when an edit has problems: edit again, or quit keeping the live file. */
export type OnProblems = (problems: string[]) => 'edit' | 'quit';

/**
 * `config edit`, as visudo: the live config is copied to a private file, the
 * administrator's editor opens it, and the result is checked with every rule
 * of the live file. Only a config with no problem replaces the live one, whole
 * (invariant 7: it is installed root:root, at most 0644); one with problems is
 * shown, and the administrator edits again or quits with the old file in
 * place. Unchanged text writes nothing (and is checked all the same). A live file changed by someone else
 * during the edit is not overwritten: the edit is kept and named.
 */
export function editConfig(onProblems: OnProblems, env: NodeJS.ProcessEnv, callerIsRoot: boolean, live: string = DEFAULT_CONFIG_PATH): EditOutcome {
  const editor = resolveEditor(env, callerIsRoot);
  const before = readLiveConfig(live);
  // Nothing there yet: start from the documented example, which changes nothing until a line is uncommented.
  const start = before ?? readLiveConfig(EXAMPLE_CONFIG_PATH) ?? '';
  const draft = makeEditDraft(start);
  let keepDraft = false;
  try {
    for (;;) {
      const status = runEditor(editor, draft.file, env);
      if (status !== 0) {
        throw new JailError(
          `the editor ${editor.path} ${status === null ? 'was killed' : `exited with status ${status}`}; ${live} is unchanged`,
          ExitCode.failure,
        );
      }
      const text = readEditDraft(draft);
      const { problems } = checkConfigText(text, live);
      // Unchanged and sound: nothing to write. Unchanged but broken (the live file was): said, as any edit's problems.
      if (text === start && problems.length === 0) return { kind: 'unchanged', file: live };
      if (problems.length > 0) {
        if (onProblems(problems) === 'edit') continue;
        return { kind: 'abandoned', file: live, problems };
      }
      if (readLiveConfig(live) !== before) {
        keepDraft = true;
        throw new JailError(
          `${live} was changed by someone else during this edit; it is left as they made it, and this edit is kept in ${draft.file}`,
          ExitCode.failure,
        );
      }
      // The live file's mode when stricter than 0644 (0600, say), never looser: invariant 7.
      const mode = 0o644 & (before === null ? 0o644 : (modeOf(live) ?? 0o644));
      installConfigFile(live, text, mode);
      // As every reader will now see it, its directories too (a /etc writable by others is refused).
      const after = checkConfigFile(live, false).problems;
      if (after.length > 0) throw new JailError(after.join('\n'), ExitCode.config);
      return { kind: 'installed', file: live, mode };
    }
  } finally {
    if (!keepDraft) removeEditDraft(draft);
  }
}
