package store_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"tandem"
	"tandem/agreement"
)

// BenchmarkRescore measures rescoring every contact under a newly activated agreement:
// 20,000 people with 25 events each, under the default agreement. Report contacts/s
// and events/s; `tandem demo` reports the same at full size.
func BenchmarkRescore(b *testing.B) {
	const people, perPerson = 20000, 25
	db := mustOpenDSN(b, filepath.Join(b.TempDir(), "bench.db"))
	g := &trafficGen{src: mustCreateSource(b, db), rng: rand.New(rand.NewPCG(1, 2)),
		now: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
	msgs := make([]*tandem.Message, 5000)
	for g.seq < people*perPerson {
		g.fill(msgs, func() int { return g.seq % people })
		for _, m := range msgs[:len(msgs)/2] { // pages, as most of a site's traffic is
			m.Type, m.Event, m.Properties = tandem.TypePage, "", []byte(`{"path":"/pricing","title":"Pricing"}`)
		}
		mustIngest(b, db, msgs...)
	}
	mustActivate(b, db, string(agreement.Default))
	db.Now = time.Now
	contacts := mustCountContacts(b, db)
	for b.Loop() {
		if _, err := db.Rescore(b.Context(), nil); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(contacts)/sec, "contacts/s")
	b.ReportMetric(float64(people*perPerson)/sec, "events/s")
}
