// Sends the activity of one buyer who becomes a marketing-qualified lead, through
// Segment's own Node.js client library, with the timestamps the Go test
// (e2e/qualify_test.go) computes the expected score from.
//
// Usage: node qualify.mjs --host URL --write-key KEY
// It prints one JSON line that sums up the requests, and exits non-zero if any event was
// not delivered.
import { parseArgs } from 'node:util';
import { Analytics } from '@segment/analytics-node';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '' },
    'write-key': { type: 'string', default: '' },
  },
});
if (!args.host || !args['write-key']) {
  console.error('usage: node qualify.mjs --host http://127.0.0.1:PORT --write-key KEY');
  process.exit(2);
}

const analytics = new Analytics({ writeKey: args['write-key'], host: args.host, flushAt: 3, flushInterval: 100, maxRetries: 2 });
let calls = 0;
let acknowledged = 0;
const failures = [];
analytics.on('error', (err) => failures.push(`${err.code}: ${err.reason?.message ?? err.reason}`));

function delivered(call, params) {
  calls++;
  return new Promise((resolve, reject) => {
    call(params, (err) => (err ? reject(err) : (acknowledged++, resolve())));
  });
}

const day = 24 * 60 * 60 * 1000;
const now = Date.now();
const dana = { userId: 'user-dana', anonymousId: 'anon-dana-laptop' };

try {
  // Two weeks ago, still anonymous, Dana read the pricing page: with a half-life of
  // fourteen days that visit counts half.
  await delivered(analytics.page, {
    anonymousId: dana.anonymousId, name: 'Pricing', properties: { path: '/pricing' },
    timestamp: new Date(now - 14 * day),
  });
  // Today she says who she is, her company describes itself, she reads pricing again
  // and asks for a demo.
  await delivered(analytics.identify, {
    ...dana, traits: { email: 'dana.reyes@lumen-freight.com', name: 'Dana Reyes', title: 'VP Revenue Operations' },
  });
  await delivered(analytics.group, {
    ...dana, groupId: 'acct-lumen', traits: { name: 'Lumen Freight', website: 'lumen-freight.com', employees: 850 },
  });
  await delivered(analytics.page, { ...dana, name: 'Pricing', properties: { path: '/pricing' } });
  await delivered(analytics.track, { ...dana, event: 'Demo Requested', properties: { seats: 40 } });
} catch (err) {
  failures.push(String(err?.message ?? err));
}
await analytics.closeAndFlush({ timeout: 30000 });
console.log(JSON.stringify({ calls, acknowledged, failures }));
if (failures.length > 0 || acknowledged !== calls) process.exit(1);
