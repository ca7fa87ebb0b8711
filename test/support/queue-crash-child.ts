/**
 * Child process of the queue crash test: queues N `shop.order` calls while offline, goes online
 * and replays until the parent kills it with SIGKILL.
 * argv: dataDir port caFile count
 */
import { readFileSync } from 'node:fs';
import { createGateway } from '../../src/index.ts';
import { stubLookup } from './lookup.ts';
import { shopPolicy } from './resilience-fixture.ts';

const [dataDir, port, caFile, count] = process.argv.slice(2) as [string, string, string, string];
const gateway = await createGateway({
  policy: shopPolicy(Number(port)),
  dataDir,
  audit: false,
  network: { lookup: stubLookup({ 'api.test': ['127.0.0.1'] }), ca: [readFileSync(caFile, 'utf8')], proxy: 'none' },
});
gateway.setOnline(false);
for (let n = 0; n < Number(count); n += 1) {
  const result = await gateway.call('shop.order', { body: { n } }, { idempotencyKey: `key-${n}` });
  if (result.ok || result.queued === undefined) throw new Error(`not queued: ${JSON.stringify(result)}`);
}
process.stdout.write('queued\n');
gateway.setOnline(true);
// Replay runs until the parent kills this process.
setInterval(() => {}, 1000);
