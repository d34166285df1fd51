// Hot reload of the sidecar's --config file: watch, re-validate, apply; a bad file is refused and the old config stays.
import { watch, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { parseSidecarConfig, type SidecarConfig } from '../../api/sidecar-config.ts';
import { readConfigText } from '../../api/load.ts';
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
  apply: (cfg: SidecarConfig) => void,
  refuse: (e: MeshfedError) => void,
  debounceMs = 50,
): ConfigWatch {
  const file = resolve(path);
  let lastHash = '';
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    let text: string;
    try {
      text = readConfigText(file);
    } catch (e) {
      refuse(e as MeshfedError);
      return;
    }
    const h = hash(text);
    if (h === lastHash) return;
    let cfg: SidecarConfig;
    try {
      cfg = parseSidecarConfig(text, file);
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
