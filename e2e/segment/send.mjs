// Sends a small, known story of website activity to a Tandem server through Segment's
// own Node.js client library, so that the end-to-end tests can check what the server made
// of it. The Go test (e2e/segment_test.go) holds the same names and addresses.
//
// Usage: node send.mjs [--host URL] [--write-key KEY]
// or set TANDEM_HOST and TANDEM_WRITE_KEY. It prints one JSON line that sums up the
// requests the library made, and exits non-zero if any event was not delivered.
import { parseArgs } from 'node:util';
import { Analytics } from '@segment/analytics-node';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.TANDEM_HOST ?? '' },
    'write-key': { type: 'string', default: process.env.TANDEM_WRITE_KEY ?? '' },
  },
});
if (!args.host || !args['write-key']) {
  console.error('usage: node send.mjs --host http://127.0.0.1:PORT --write-key KEY (or TANDEM_HOST, TANDEM_WRITE_KEY)');
  process.exit(2);
}

const analytics = new Analytics({
  writeKey: args['write-key'],
  host: args.host,
  // Small batches, sent soon: the story spans several /v1/batch requests, some of them
  // in flight at once, as a busy server-side integration would send them.
  flushAt: 4,
  flushInterval: 100,
  maxRetries: 2,
  httpRequestTimeout: 10000,
});

const failures = [];
const statuses = {};
let requests = 0;
let events = 0;
let calls = 0;
let acknowledged = 0;
for (const type of ['identify', 'track', 'page', 'group']) {
  analytics.on(type, () => acknowledged++);
}
analytics.on('error', (err) => {
  failures.push(`${err.code}: ${err.reason?.message ?? err.reason} (${err.ctx?.event?.type ?? 'no event'})`);
});
analytics.on('http_request', (req) => {
  requests++;
  events += JSON.parse(req.body).batch.length;
});
analytics.on('http_response', (res) => {
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
});

// send makes one call of the library, such as analytics.track, and counts it.
function send(call, params, callback) {
  calls++;
  call(params, callback);
}

// delivered makes one call and waits until the server has answered it.
function delivered(call, params) {
  return new Promise((resolve, reject) => {
    send(call, params, (err) => (err ? reject(err) : resolve()));
  });
}

const company = {
  groupId: 'acct-northwind',
  traits: {
    name: 'Northwind Analytics, Inc.',
    website: 'https://www.northwind-analytics.com',
    employees: 240,
    industry: 'Software',
  },
};

const ada = {
  userId: 'user-ada',
  anonymousId: 'anon-ada-browser',
  traits: { email: 'ada.park@northwind-analytics.com', name: 'Ada Park', title: 'VP Marketing', company: 'Northwind Analytics' },
};
const ben = {
  userId: 'user-ben',
  anonymousId: 'anon-ben-browser',
  traits: { email: 'ben.okafor@northwind-analytics.com', name: 'Ben Okafor', title: 'Sales Engineer', company: 'Northwind Analytics' },
};
const cleo = {
  userId: 'user-cleo',
  anonymousId: 'anon-cleo-browser',
  traits: { email: 'cleo.marsh@gmail.com', name: 'Cleo Marsh', title: 'Freelance Designer', company: 'Marsh Studio' },
};
const stranger = 'anon-stranger-browser';

// Ada reads the pricing page before she says who she is; that page view reaches the
// server on its own, well before her identify.
try {
  await delivered(analytics.page, {
    anonymousId: ada.anonymousId,
    name: 'Pricing',
    properties: { path: '/pricing', url: 'https://northwind.example/pricing', title: 'Pricing' },
  });
} catch (err) {
  console.error(`not delivered: Ada's first page view: ${err?.message ?? err}`);
  process.exit(1);
}

// Someone who never identifies browses and downloads a guide.
send(analytics.page, { anonymousId: stranger, name: 'Blog', properties: { path: '/blog' } });
send(analytics.track, { anonymousId: stranger, event: 'Guide Downloaded', properties: { guide: 'lead-scoring' } });
send(analytics.identify, { anonymousId: stranger, traits: { plan: 'free', referrer: 'newsletter' } });

send(analytics.identify, { userId: ada.userId, anonymousId: ada.anonymousId, traits: ada.traits });
send(analytics.track, { userId: ada.userId, anonymousId: ada.anonymousId, event: 'Demo Requested', properties: { seats: 25 } });
send(analytics.group, { userId: ada.userId, anonymousId: ada.anonymousId, ...company });

// Ben's anonymous page view is sent right before his identify, likely in the same batch.
send(analytics.page, { anonymousId: ben.anonymousId, name: 'Integrations', properties: { path: '/integrations' } });
send(analytics.identify, { userId: ben.userId, anonymousId: ben.anonymousId, traits: ben.traits });
send(analytics.page, { userId: ben.userId, anonymousId: ben.anonymousId, name: 'Docs', properties: { path: '/docs' } });
send(analytics.track, { userId: ben.userId, event: 'Webinar Registered', properties: { webinar: 'Speed to lead' } });

send(analytics.identify, { userId: cleo.userId, anonymousId: cleo.anonymousId, traits: cleo.traits });
send(analytics.page, { userId: cleo.userId, anonymousId: cleo.anonymousId, name: 'Templates', properties: { path: '/templates' } });
send(analytics.track, { userId: cleo.userId, event: 'Newsletter Subscribed' });

send(analytics.page, { anonymousId: stranger, name: 'Pricing', properties: { path: '/pricing' } });

await analytics.closeAndFlush({ timeout: 30000 });

if (acknowledged !== calls) {
  failures.push(`${calls - acknowledged} of ${calls} calls were not acknowledged`);
}
console.log(JSON.stringify({ calls, acknowledged, requests, events, statuses, failures }));
if (failures.length > 0) {
  for (const f of failures) console.error('not delivered:', f);
  process.exit(1);
}
