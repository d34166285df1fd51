// Error codes owned by the contracts in api/: values returned when shared wire data breaks its invariants.

/** Codes returned by api/ (config loading itself uses the shared MESHFED_E_CONFIG_* codes in common/errors.ts). */
export const API_CODES = {
  MESHFED_E_HISTOGRAM_BOUNDS_MISMATCH: 'two latency histograms with different bucket bounds cannot be merged',
  MESHFED_E_HISTOGRAM_INVALID: 'a LatencyHistogram message breaks its invariants (bucket counts, bounds or totals)',
} as const;

export type ApiCode = keyof typeof API_CODES;
