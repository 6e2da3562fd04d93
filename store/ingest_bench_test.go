package store_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"tandem"
	"tandem/agreement"
)

// BenchmarkIngest measures the store alone: how many decoded events a second its one
// writer commits, identity resolution included, in groups of the sizes the group
// committer forms under load. Everyone has been seen before, as in steady traffic:
// creating people is the first minutes' work, not the rate that lasts. Compare with
// ingestlimit's store_per_s on the same machine.
//
// With terms=default the starting agreement (20 rules) is active, so every event is
// also scored and every contact it touches restaged in the same commit; the ratio of
// the two is what scoring costs ingest.
func BenchmarkIngest(b *testing.B) {
	for _, group := range []int{100, 800, 5000} {
		for _, terms := range []string{"none", "default"} {
			b.Run(fmt.Sprintf("sqlite/group=%d/terms=%s", group, terms), func(b *testing.B) {
				benchmarkIngest(b, group, terms == "default")
			})
		}
	}
}

func benchmarkIngest(b *testing.B, group int, terms bool) {
	db := mustOpenDSN(b, filepath.Join(b.TempDir(), "bench.db"))
	if terms {
		mustActivate(b, db, string(agreement.Default))
		db.Now = time.Now
	}
	g := &trafficGen{src: mustCreateSource(b, db), rng: rand.New(rand.NewPCG(1, 2)),
		now: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
	msgs := make([]*tandem.Message, group)
	for g.seq < 10000 { // one event from each of the 10,000 people first
		g.fill(msgs, func() int { return g.seq % 10000 })
		mustIngest(b, db, msgs...)
	}
	for b.Loop() {
		g.fill(msgs, func() int { return g.rng.IntN(10000) })
		if _, err := db.Ingest(b.Context(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*group)/b.Elapsed().Seconds(), "events/s")
}

// trafficGen makes track events like a website's: seven people in ten known by a user
// id, the rest by an anonymous id.
type trafficGen struct {
	src int64
	rng *rand.Rand
	seq int
	now time.Time
}

var (
	// benchEvents are the track events of the traffic; the default agreement scores all
	// but the last.
	benchEvents  = []string{"Pricing Viewed", "Email Link Clicked", "Whitepaper Downloaded", "Webinar Registered", "Case Study Viewed", "Form Submitted"}
	benchProps   = json.RawMessage(`{"plan":"pro","currency":"USD","value":1188}`)
	benchContext = json.RawMessage(`{"page":{"path":"/pricing","url":"https://example.com/pricing","title":"Pricing","referrer":"https://google.com/"},"campaign":{"name":"q4_pipeline","source":"google","medium":"cpc"}}`)
)

func (g *trafficGen) fill(msgs []*tandem.Message, person func() int) {
	for i := range msgs {
		p := person()
		g.seq++
		m := &tandem.Message{SourceID: g.src, Type: tandem.TypeTrack, Event: benchEvents[g.seq%len(benchEvents)],
			MessageID: fmt.Sprintf("m-%d", g.seq), Properties: benchProps, Context: benchContext,
			Timestamp: g.now, ClientTimestamp: g.now, ReceivedAt: g.now}
		if p%10 < 7 {
			m.UserID = fmt.Sprintf("user-%d", p)
		} else {
			m.AnonymousID = fmt.Sprintf("anon-%d", p)
		}
		g.now = g.now.Add(time.Millisecond)
		msgs[i] = m
	}
}
