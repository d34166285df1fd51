// Public API of the sidecar balancer: pickers, outlier detection, endpoint and weight translation.
export { buildPicker, p2c, weightedChoice, type PickerInput } from './picker.ts';
export {
  createOutlierState, withEndpoints, recordOutcome, isEjected, ejectedInZone, anyEjected, maxEjectedInZone, nextUnejection,
  rejoining, unejectRecovered, DEPARTED_CAP,
  type OutlierConfig, type OutlierEntry, type OutlierState, type OutlierEvent, type Unejection,
} from './outlier.ts';
export { failoverShares, listedZones, rowTotal, type ZoneRow, type ZoneShares } from './failover.ts';
export { endpointsFor, weightsFor, rowFor, type ServiceRow, serviceHost, serviceHosts, hostIndex, resolveAuthority, sniFor } from './endpoints.ts';
export { createBalancer, type Balancer, type PickerSource } from './balancer.ts';
