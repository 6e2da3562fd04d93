// Delivers the Segment calls a Go test writes on stdin through Segment's own Node.js
// client library, one at a time and in order: each call is acknowledged by the server
// before the next is made. send.mjs and qualify.mjs tell fixed stories; this one lets a
// test choose the calls, their context (such as context.campaign) and their timestamps.
//
// Usage: node deliver.mjs --host URL --write-key KEY < calls.json
// where calls.json is an array of {"call": "page" | "identify" | "track" | "group",
// "params": {...}}, params as the library's methods take them (timestamps as ISO 8601
// strings). It prints one JSON line that sums up the calls, and exits non-zero if any
// call was not delivered.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Analytics } from '@segment/analytics-node';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '' },
    'write-key': { type: 'string', default: '' },
  },
});
if (!args.host || !args['write-key']) {
  console.error('usage: node deliver.mjs --host http://127.0.0.1:PORT --write-key KEY < calls.json');
  process.exit(2);
}
const calls = JSON.parse(readFileSync(0, 'utf8'));

const analytics = new Analytics({ writeKey: args['write-key'], host: args.host, flushInterval: 50, maxRetries: 2 });
let acknowledged = 0;
const failures = [];
analytics.on('error', (err) => failures.push(`${err.code}: ${err.reason?.message ?? err.reason}`));

for (const [i, { call, params }] of calls.entries()) {
  if (!['page', 'identify', 'track', 'group'].includes(call)) {
    failures.push(`call ${i}: unknown call ${JSON.stringify(call)}`);
    break;
  }
  try {
    await new Promise((resolve, reject) => {
      analytics[call](params, (err) => (err ? reject(err) : resolve()));
    });
    acknowledged++;
  } catch (err) {
    failures.push(`call ${i} (${call}): ${err?.message ?? err}`);
    break;
  }
}
await analytics.closeAndFlush({ timeout: 30000 });
console.log(JSON.stringify({ calls: calls.length, acknowledged, failures }));
if (failures.length > 0 || acknowledged !== calls.length) process.exit(1);
