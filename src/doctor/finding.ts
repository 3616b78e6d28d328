/**
 * One finding of `doctor`: what was checked, whether it is fine, and if not
 * what is wrong and how to fix it. Three levels: ok; a warning (`ok` and
 * `warning`: fine to run with, but worth knowing; doctor still exits 0); a
 * failure (not `ok`: doctor exits 1).
 */
export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** Fine to run with, but worth knowing (shown as WARN; doctor still exits 0). */
  warning?: boolean;
}

export type Severity = 'ok' | 'warn' | 'fail';

export function severityOf(finding: Finding): Severity {
  return !finding.ok ? 'fail' : finding.warning ? 'warn' : 'ok';
}

export function passed(check: string, detail: string): Finding {
  return { check, ok: true, detail };
}

export function warned(check: string, detail: string, fix: string): Finding {
  return { check, ok: true, warning: true, detail, fix };
}

export function failed(check: string, detail: string, fix: string): Finding {
  return { check, ok: false, detail, fix };
}
