// Loading of every user-written file: parse YAML or JSON, validate with a zod schema, apply defaults, deep-freeze.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { MeshfedError } from '../common/errors.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';

/** Renders a zod path as `a.b[2].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return String(value);
}

/** zod's type names in the words a YAML author uses. */
const TYPE_WORDS: Record<string, string> = {
  array: 'a list', object: 'a mapping', record: 'a mapping', string: 'a string', number: 'a number', int: 'an integer',
  boolean: 'true or false', bigint: 'an integer',
};

interface IssueLike {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
  readonly values?: readonly unknown[];
  readonly expected?: string;
  readonly input?: unknown;
  readonly note?: string;
  readonly discriminator?: string;
  readonly options?: readonly unknown[];
}

/** One line per problem, each saying where it is and what would fix it. */
export function formatIssue(issue: IssueLike, allowedKeys?: readonly string[]): string {
  const where = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = (issue.keys ?? []).map((k) => `"${k}"`).join(', ');
      const hint = allowedKeys && allowedKeys.length > 0 ? ` (allowed: ${allowedKeys.join(', ')})` : ' (remove it or check its spelling)';
      return `${where}: unknown key ${keys}${hint}`;
    }
    case 'invalid_value': {
      if (issue.message.startsWith('Invalid') && issue.values) {
        const expected = issue.values.map((v) => String(v)).join(' | ');
        return `${where}: unknown value ${describe(issue.input)} (expected ${expected})`;
      }
      return `${where}: ${issue.message}`;
    }
    case 'invalid_type': {
      const expected = TYPE_WORDS[issue.expected ?? ''] ?? issue.expected ?? 'another type';
      if (issue.input === undefined) return `${where}: required but missing (expected ${expected})`;
      if (issue.message.startsWith('Invalid input')) return `${where}: expected ${expected}, got ${describe(issue.input)}`;
      return `${where}: ${issue.message}`;
    }
    case 'invalid_union': {
      if (issue.note === 'No matching discriminator' && issue.options) {
        const expected = issue.options.map((v) => String(v)).join(' | ');
        const parent = issue.input;
        const given = parent !== null && typeof parent === 'object' && issue.discriminator ? (parent as Record<string, unknown>)[issue.discriminator] : undefined;
        if (given === undefined) return `${where}: required but missing (expected ${expected})`;
        return `${where}: unknown value ${describe(given)} (expected ${expected})`;
      }
      return `${where}: ${issue.message}`;
    }
    default:
      return `${where}: ${issue.message}`;
  }
}

interface SchemaNode {
  def?: {
    type?: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown;
    options?: readonly unknown[]; discriminator?: string; values?: readonly unknown[];
  };
}

function unwrap(n: unknown): SchemaNode | undefined {
  let cur = n as SchemaNode | undefined;
  for (let i = 0; i < 10 && cur?.def; i++) {
    const t = cur.def.type;
    if (t === 'optional' || t === 'default' || t === 'nullable' || t === 'prefault' || t === 'readonly' || t === 'catch') cur = cur.def.innerType as SchemaNode;
    else if (t === 'pipe') cur = cur.def.in as SchemaNode;
    else break;
  }
  return cur;
}

/** For a discriminated union, the option the value's discriminator selects; otherwise the node itself. */
function selectOption(n: SchemaNode | undefined, value: unknown): SchemaNode | undefined {
  if (n?.def?.type !== 'union' || !n.def.discriminator || !n.def.options) return n;
  const given = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[n.def.discriminator] : undefined;
  for (const option of n.def.options) {
    const o = unwrap(option);
    const literal = unwrap(o?.def?.shape?.[n.def.discriminator]);
    if (literal?.def?.values?.includes(given)) return o;
  }
  return undefined;
}

/**
 * Walks the schema (and the value beside it, to pick discriminated-union options) along a path to list the keys
 * allowed there, so unknown-key errors can name them.
 */
function allowedKeysAt(schema: z.ZodType, path: readonly PropertyKey[], value: unknown): string[] | undefined {
  let node: unknown = schema;
  let here = value;
  for (const part of path) {
    const n = selectOption(unwrap(node), here);
    if (!n?.def) return undefined;
    if (n.def.type === 'object' && typeof part === 'string') node = n.def.shape?.[part];
    else if (n.def.type === 'array') node = n.def.element;
    else if (n.def.type === 'record') node = n.def.valueType;
    else return undefined;
    here = here !== null && typeof here === 'object' ? (here as Record<PropertyKey, unknown>)[part] : undefined;
  }
  const n = selectOption(unwrap(node), here);
  return n?.def?.type === 'object' && n.def.shape ? Object.keys(n.def.shape) : undefined;
}

/** Validates an already-parsed value. Throws MESHFED_E_CONFIG_INVALID with one `file: path: message` line per problem. */
export function validateConfig<S extends z.ZodType>(schema: S, value: unknown, fileName: string): DeepReadonly<z.output<S>> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return deepFreeze(result.data);
  const lines = result.error.issues.map((issue) => {
    const allowed = issue.code === 'unrecognized_keys' ? allowedKeysAt(schema, issue.path, value) : undefined;
    return `${fileName}: ${formatIssue(issue as unknown as IssueLike, allowed)}`;
  });
  throw new MeshfedError('MESHFED_E_CONFIG_INVALID', lines.join('\n'), { details: lines });
}

/** Parses YAML (a superset of JSON) text and validates it. */
export function parseConfig<S extends z.ZodType>(schema: S, text: string, fileName: string): DeepReadonly<z.output<S>> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The yaml package repeats the position in its message and often reports one mistake several times.
    const lines = [...new Set(doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const message = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      return `${fileName}${pos ? `:${pos.line}:${pos.col}` : ''}: ${message}`;
    }))];
    throw new MeshfedError('MESHFED_E_CONFIG_PARSE', lines.join('\n'), { details: lines });
  }
  return validateConfig(schema, doc.toJS() ?? {}, fileName);
}

/** Reads a config file as text. Throws MESHFED_E_CONFIG_READ naming the path and the reason. */
export function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file'
      : code === 'EACCES' ? 'permission denied'
        : code === 'EISDIR' ? 'is a directory, not a file'
          : (cause as Error).message;
    throw new MeshfedError('MESHFED_E_CONFIG_READ', `${path}: cannot read: ${reason}`, { cause });
  }
}

/** Reads, parses and validates a file. */
export function loadConfigFile<S extends z.ZodType>(schema: S, path: string): DeepReadonly<z.output<S>> {
  return parseConfig(schema, readConfigText(path), path);
}
