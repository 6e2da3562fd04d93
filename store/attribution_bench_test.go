package store_test

import (
	"context"
	"os"
	"testing"

	"tandem/attribution"
	"tandem/store"
)

// BenchmarkAttributionReport times the attribution report over the store at
// TANDEM_BENCH_STORE (a SQLite file or a postgres:// URL), such as one `tandem demo
// --contacts 1000000 --events 10000000 --deals 100000` made: every model at once, then
// each alone. It skips without one.
func BenchmarkAttributionReport(b *testing.B) {
	dsn := os.Getenv("TANDEM_BENCH_STORE")
	if dsn == "" {
		b.Skip("TANDEM_BENCH_STORE names no store to report on")
	}
	db, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, k := range append([]attribution.Kind{""}, store.AttributionKinds...) {
		name := string(k)
		if name == "" {
			name = "every_model"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := db.Attribution(context.Background(), store.AttributionQuery{Model: k}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
