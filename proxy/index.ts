// Public API of the native data-plane adapters: the HAProxy adapter and its pure parts (model, weights, render, diff, stats).
export { startHaproxyAdapter, type HaproxyAdapter, type HaproxyAdapterOptions, type AdapterStatus } from './adapter.ts';
export { startHaproxy, haproxyBinary, checkConfig, alertLine, reloadsOf, type HaproxyProcess, type HaproxyOptions } from './haproxy.ts';
export { buildProxyModel, knownEndpoints, backendName, haproxyName, proxyPolicy, type KnownEndpoints, type ProxyModel, type ProxyService, type ProxyServer, type ProxyBackend, type ProxyPolicy } from './model.ts';
export { renderHaproxyConfig, serverParams, type RenderOptions } from './render.ts';
export { planChange, structureOf, type ProxyChange } from './diff.ts';
export { haproxyWeights, sharesOf, HAPROXY_MAX_WEIGHT } from './weights.ts';
export { parseShowStat, totalsFromStat, type StatRow } from './stats.ts';
export { unsupportedParts, unsupportedOverlayParts, checkOverlay } from './unsupported.ts';
export { RuntimeApi, runtimeCommand, parseInfo, isRuntimeSuccess } from './runtime-api.ts';
export { PROXY_CODES, proxyError, type ProxyCode } from './errors.ts';
