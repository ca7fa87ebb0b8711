/**
 * Creates a gateway from a policy and options.
 * @see DESIGN.md §2
 */
import { loadPolicy } from '../policy/load.ts';
import { GatewayImpl, type Gateway } from './gateway.ts';
import { resolveGatewayOptions, type GatewayOptions } from './options.ts';

/**
 * Loads and compiles the policy, opens the audit sink and returns a ready gateway.
 * @throws PolicyError when the policy is invalid (with line:column for files).
 * @example
 * const gateway = await createGateway({ policy: 'gatehouse.policy.yaml', secrets });
 * const result = await gateway.call('weather.getForecast', { city: 'Oslo' });
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const policy = await loadPolicy(options.policy);
  return new GatewayImpl(policy, resolveGatewayOptions(options));
}
