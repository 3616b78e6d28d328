/** Values the config's templates may name: {user}, {uid}, {home}. */
export type TemplateVars = Record<'user' | 'uid' | 'home', string>;

/** Fills {user}, {uid} and {home}; the config loader has already refused any other placeholder. */
export function expandTemplate(template: string, vars: TemplateVars): string {
  return template.replace(/\{(user|uid|home)\}/g, (_, key: keyof TemplateVars) => vars[key]);
}

/** A Docker container name: characters Docker refuses (e.g. the @ of LDAP names) become _. */
export function containerNameFrom(template: string, vars: TemplateVars): string {
  return expandTemplate(template, { ...vars, user: vars.user.replace(/[^a-zA-Z0-9_.-]/g, '_') });
}

/** An RFC 1123 host name label: lower case letters, digits and inner hyphens, at most 63 characters. */
export function hostnameFrom(template: string, vars: TemplateVars): string {
  const name = expandTemplate(template, { ...vars, user: vars.user.toLowerCase().replace(/[^a-z0-9-]/g, '-') })
    .toLowerCase()
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return name === '' ? 'jail' : name;
}
