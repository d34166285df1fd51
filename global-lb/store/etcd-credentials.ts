// How an etcd client proves itself: TLS material (a CA, a client certificate) and an etcd user, read from files.
import { readConfigText } from '../../api/load.ts';
import { storeError } from './errors.ts';
import type { EtcdTls } from './store-etcd.ts';

/** An etcd user (etcd's own authentication, `etcdctl user add`), used when the cluster has auth enabled. */
export interface EtcdAuth {
  readonly username: string;
  readonly password: string;
}

/** Paths of the credential files; all optional. cert and key go together. */
export interface EtcdCredentialFiles {
  /** The CA the members' certificates chain to (PEM); without it, the system roots. */
  readonly ca?: string | undefined;
  /** This client's certificate chain and key (PEM), for a cluster started with --client-cert-auth. */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** A file whose first line is `user:password`, for a cluster with auth enabled. */
  readonly userFile?: string | undefined;
}

/** What a store or a tool passes to the etcd client. */
export interface EtcdCredentials {
  readonly tls?: EtcdTls;
  readonly auth?: EtcdAuth;
}

/** Parses a user file's text: `user:password` on the first line (the password may itself hold colons). */
export function parseEtcdUserFile(text: string, path: string): EtcdAuth {
  const line = text.split(/\r?\n/, 1)[0]!.trim();
  const colon = line.indexOf(':');
  if (colon <= 0 || colon === line.length - 1) {
    throw storeError('MESHFED_E_STORE_INVALID', `${path}: the first line must be user:password (an etcd user and its password)`);
  }
  return { username: line.slice(0, colon), password: line.slice(colon + 1) };
}

/**
 * Reads the files into credentials. `label` names where each path came from in errors (e.g. "--etcd-" or
 * "config store."), so `--etcd-cert` without `--etcd-key` is reported under the flag the user typed.
 */
export function readEtcdCredentials(files: EtcdCredentialFiles, label: { readonly cert: string; readonly key: string }): EtcdCredentials {
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw storeError('MESHFED_E_STORE_INVALID', `${label.cert} and ${label.key} go together (a client certificate and its key)`);
  }
  const tls: EtcdTls | undefined = files.ca === undefined && files.cert === undefined ? undefined : {
    ...(files.ca === undefined ? {} : { ca: readConfigText(files.ca) }),
    ...(files.cert === undefined ? {} : { cert: readConfigText(files.cert), key: readConfigText(files.key!) }),
  };
  const auth = files.userFile === undefined ? undefined : parseEtcdUserFile(readConfigText(files.userFile), files.userFile);
  return { ...(tls ? { tls } : {}), ...(auth ? { auth } : {}) };
}
