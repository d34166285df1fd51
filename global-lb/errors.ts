// Stable error codes of the global balancer (federation stream, admin API, control loop).

/** Codes owned by global-lb/server and the global-lb CLI commands. Each row is documented in docs/errors.md. */
export const GLOBAL_LB_CODES = {
  MESHFED_E_STREAM_NO_HELLO: 'an agent stream sent something other than a Hello as its first message',
  MESHFED_E_STREAM_BAD_HELLO: 'a Hello named no zone, an invalid locality, or a zone the peer certificate does not own',
  MESHFED_E_STREAM_ZONE_CLUSTER: 'a Hello for a zone came from another cluster than the one its certificate\'s intermediate or the zone\'s reports name',
  MESHFED_E_STREAM_WRONG_ZONE: 'a report named a zone other than the one the stream said Hello for',
  MESHFED_E_REPORT_INVALID: 'a zone report failed validation (negative or non-finite numbers, absurd counts, bad names)',
  MESHFED_E_STREAM_DUPLICATE_HELLO: 'an agent sent a second Hello on one stream',
  MESHFED_E_ADMIN_NOT_FOUND: 'the admin API has no such route or object',
  MESHFED_E_ADMIN_BAD_REQUEST: 'an admin API request had a malformed path, body or JSON',
  MESHFED_E_ADMIN_BODY_TOO_LARGE: 'an admin API request body exceeded the size limit',
  MESHFED_E_POLICY_INVALID: 'a policy did not match the policy schema; each detail names the path',
  MESHFED_E_ADMIN_UNREACHABLE: 'the CLI could not reach the balancer admin API',
} as const;

export type GlobalLbCode = keyof typeof GLOBAL_LB_CODES;
