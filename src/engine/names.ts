/** Values the config's templates may name: {user}, {uid}, {home}. */
export type TemplateVars = Record<'user' | 'uid' | 'home', string>;

/** Fills {user}, {uid} and {home}; the config loader has already refused any other placeholder. */
export function expandTemplate(template: string, vars: TemplateVars): string {
  return template.replace(/\{(user|uid|home)\}/g, (_, key: keyof TemplateVars) => vars[key]);
}

/**
 * A Docker container name. Characters Docker refuses (the @ of LDAP names, say)
 * become _ and their UTF-8 bytes in hex, and _ itself becomes __, so two user
 * names never share a container name (a@z is jail-a_40z, a_z is jail-a__z).
 */
export function containerNameFrom(template: string, vars: TemplateVars): string {
  const escape = (char: string) => (char === '_' ? '__' : `_${Buffer.from(char).toString('hex')}`);
  return expandTemplate(template, { ...vars, user: vars.user.replace(/[^a-zA-Z0-9.-]/gu, escape) });
}

/** An RFC 1123 host name label: lower case letters, digits and inner hyphens, at most 63 characters. */
export function hostnameFrom(template: string, vars: TemplateVars): string {
  const name = expandTemplate(template, { ...vars, user: vars.user.toLowerCase().replace(/[^a-z0-9-]/g, '-') })
    .toLowerCase()
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return name === '' ? 'jail' : name;
}
