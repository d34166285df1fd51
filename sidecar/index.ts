// Public API of the sidecar's I/O side: the sidecar process, the east-west gateway, L4 faults, and the pure core.
export { startSidecar, defaultStack, type Sidecar, type SidecarOptions, type StackDeps, type StackFactory } from './server/sidecar.ts';
export { startGateway, type Gateway, type GatewayOptions, type GatewayEndpoint, type GatewayResolver, type GatewayRefusal } from './gateway/gateway.ts';
export { startGatewayProcess, type GatewayProcess } from './gateway/process.ts';
export { gatewayResolver } from './gateway/routes.ts';
export { parseClientHello, parseGatewaySni, gatewaySni, type SniResult, type GatewayTarget } from './gateway/sni.ts';
export { NO_L4_FAULTS, parseL4Faults, type L4Faults } from './l4/l4-faults.ts';
export { wrapConnection } from './l4/wrap.ts';
export { parseFaultsBody, type RuntimeFaults } from './server/admin.ts';
export { SIDECAR_CODES, type SidecarCode } from './errors.ts';
