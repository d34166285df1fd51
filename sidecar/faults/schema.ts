// The runtime L7 fault-settings schema (the body of `PUT /faults`), re-exported from api/ where the config file uses it too.
import { validateConfig } from '../../api/load.ts';
import { faultSettingsSchema, type FaultSettings } from '../../api/sidecar-config.ts';

export { faultSettingsSchema, faultRuleSchema, type FaultSettings, type FaultRule } from '../../api/sidecar-config.ts';

/**
 * Validates a parsed `PUT /faults` body. Throws MESHFED_E_CONFIG_INVALID whose details are one `PUT /faults: path: problem`
 * line each, ready for a 400 answer.
 */
export function parseFaultSettings(body: unknown): FaultSettings {
  return validateConfig(faultSettingsSchema, body, 'PUT /faults');
}
