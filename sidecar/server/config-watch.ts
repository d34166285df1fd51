// Hot reload of the sidecar's --config file: watch, re-validate, apply; a bad file is refused and the old config stays.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { loadSidecarConfig, type SidecarConfig } from '../../api/sidecar-config.ts';
import { MeshfedError } from '../../common/errors.ts';

export interface ConfigWatch {
  close(): void;
}

/**
 * Watches the directory holding `path` (editors and ConfigMap updates replace files by rename, which a watch on
 * the file itself would miss). Each change is loaded and validated; `apply` sees only valid configs, `refuse`
 * gets the path-named error of an invalid one. Unchanged content is ignored.
 */
export function watchConfigFile(
  path: string,
  initial: string | undefined,
  apply: (cfg: SidecarConfig) => void,
  refuse: (e: MeshfedError) => void,
  debounceMs = 50,
): ConfigWatch {
  const file = resolve(path);
  let lastHash = initial === undefined ? '' : hash(initial);
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    let text: string;
    try {
      text = readText(file);
    } catch (e) {
      refuse(e instanceof MeshfedError ? e : new MeshfedError('MESHFED_E_CONFIG_READ', `${path}: ${(e as Error).message}`));
      return;
    }
    const h = hash(text);
    if (h === lastHash) return;
    let cfg: SidecarConfig;
    try {
      cfg = loadSidecarConfig(file);
    } catch (e) {
      lastHash = h; // do not report the same bad content twice
      refuse(e instanceof MeshfedError ? e : new MeshfedError('MESHFED_E_CONFIG_INVALID', String(e), { cause: e }));
      return;
    }
    lastHash = h;
    apply(cfg);
  };
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, name) => {
    if (name !== null && name !== basename(file)) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
  });
  watcher.on('error', () => {});
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}

/** A content hash, so a touch or a rewrite with the same bytes does not re-apply. */
export function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
