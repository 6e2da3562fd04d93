// Package e2e tests the tandem binary from the outside: it builds cmd/tandem, runs
// "tandem serve" on a loopback port with a fresh SQLite file (or a PostgreSQL schema),
// and talks to it only as clients do: through the Segment tracking API with Segment's
// own Node.js library, the JSON API, webhook receivers that check signatures, and
// Debian's Chromium driving the web app. Its tests live in _test.go files; run them
// with go test ./e2e/.
package e2e
