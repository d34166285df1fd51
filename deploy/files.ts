// The edge of render: reads the federation file with its `deploy:` section and the CA/TLS directories for the Secrets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { DEFAULT_FEDERATION, federationFileSchema, parseFederation, type Federation } from '../api/federation-file.ts';
import { DEFAULT_DEPLOY_SETTINGS, type DeploySettings } from '../api/deploy-settings.ts';
import { parseConfig, readConfigText } from '../api/load.ts';
import { PLUGIN_CA_FILES, WORKLOAD_FILES } from '../trust/files.ts';
import { deployError } from './errors.ts';

/** A federation and its deploy settings. */
export interface DeployInput {
  readonly federation: Federation;
  readonly settings: DeploySettings;
}

/** Parses a federation file (the one `meshfed up --config` reads) and its optional `deploy:` section. */
export function parseDeployInput(text: string, file: string): DeployInput {
  const federation = parseFederation(text, file);
  const doc = parseDocument(text).toJS() as unknown;
  const bare = doc !== null && typeof doc === 'object' && 'clouds' in doc;
  const settings = bare ? DEFAULT_DEPLOY_SETTINGS : (parseConfig(federationFileSchema, text, file).deploy ?? DEFAULT_DEPLOY_SETTINGS);
  return { federation, settings };
}

/** The federation file at path, or the default federation (`meshfed up` without --config) when path is undefined. */
export function loadDeployInput(path: string | undefined): DeployInput {
  if (path === undefined) return { federation: DEFAULT_FEDERATION, settings: DEFAULT_DEPLOY_SETTINGS };
  return parseDeployInput(readConfigText(path), path);
}

/** Secret file sets and the names each must hold. */
export const SECRET_FILES = {
  cacerts: Object.values(PLUGIN_CA_FILES),
  globalLbTls: [WORKLOAD_FILES.cert, WORKLOAD_FILES.key, WORKLOAD_FILES.chain, WORKLOAD_FILES.root],
  etcdTls: ['ca.crt', 'tls.crt', 'tls.key'],
} as const;

/** Reads the named files of dir; throws MESHFED_E_DEPLOY_FILES naming the flag and the file that is missing. */
export function readSecretDir(dir: string, names: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    try {
      out[name] = readFileSync(join(dir, name), 'utf8');
    } catch (cause) {
      throw deployError('MESHFED_E_DEPLOY_FILES', `--${flag}: ${join(dir, name)}: cannot read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); the directory must hold ${names.join(', ')}`, cause);
    }
  }
  return out;
}
