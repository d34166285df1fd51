// Stable error codes of the deploy component: rendering Kubernetes manifests and injecting sidecars.
import { MeshfedError } from '../common/errors.ts';

/** Every code the deploy component reports. Each row is documented in docs/errors.md under "Deploy". */
export const DEPLOY_CODES = {
  MESHFED_E_DEPLOY_UNKNOWN_CLUSTER: 'render was asked for a cluster the federation file does not declare',
  MESHFED_E_DEPLOY_FILES: 'a CA or TLS directory given to render lacks a file, or a file cannot be read',
  MESHFED_E_DEPLOY_OUT: 'the output directory cannot be created or written',
  MESHFED_E_INJECT_PARSE: 'a manifest given to inject is not valid YAML',
  MESHFED_E_INJECT_UNSUPPORTED: 'a manifest holds a workload inject cannot handle (a Job, CronJob, ReplicaSet, List, hostNetwork pod)',
  MESHFED_E_INJECT_INVALID: 'a workload lacks what the sidecar needs (a service name, an app port, a zone) or contradicts it',
} as const;

export type DeployCode = keyof typeof DEPLOY_CODES;

/** Builds a MeshfedError with a deploy code. */
export function deployError(code: DeployCode, message: string, cause?: unknown): MeshfedError {
  return new MeshfedError(code, message, cause === undefined ? {} : { cause });
}
