package store_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tandem/agreement"
	"tandem/csvio"
	"tandem/store"
)

// BenchmarkImportContacts imports a HubSpot-style contacts file of TANDEM_BENCH_ROWS rows
// (100,000 unless set) into a new SQLite store, opened as `tandem import` opens it, and reports the
// rows imported a second and the peak heap in use. The file is made as it is read, so
// that only the importer's memory is measured: it should stay flat as the file grows.
// Every row is a new person at one of a twentieth as many companies. With terms=default
// the starting agreement is active, so each person is scored and staged as they arrive.
func BenchmarkImportContacts(b *testing.B) {
	for _, terms := range []string{"none", "default"} {
		b.Run("terms="+terms, func(b *testing.B) { benchmarkImportContacts(b, terms == "default") })
	}
}

func benchmarkImportContacts(b *testing.B, terms bool) {
	rows := 100_000
	if s := os.Getenv("TANDEM_BENCH_ROWS"); s != "" {
		var err error
		if rows, err = strconv.Atoi(s); err != nil {
			b.Fatalf("TANDEM_BENCH_ROWS=%q: %v", s, err)
		}
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	})
	var took time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), fmt.Sprintf("bench%d.db", i)), store.Options{Ingester: true, CacheSize: 20_000}) // as tandem import opens it
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		if terms {
			mustActivate(b, db, string(agreement.Default))
			db.Now = time.Now // which mustActivate fixed: an import's clock runs
		}
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		r, err := csvio.NewReader(&contactsFile{rows: rows}, csvio.Contacts, nil)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := db.Import(context.Background(), r, store.ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		if sum.Created != int64(rows) {
			b.Fatalf("created %d of %d rows: %+v", sum.Created, rows, sum)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	close(stop)
	sampler.Wait()
	b.ReportMetric(float64(rows*b.N)/took.Seconds(), "rows/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// contactsFile is a HubSpot contacts export made as it is read.
type contactsFile struct {
	rows, next int
	buf        []byte
}

func (f *contactsFile) Read(p []byte) (int, error) {
	for len(f.buf) < len(p) && f.next <= f.rows {
		if f.next == 0 {
			f.buf = append(f.buf, "Record ID,First Name,Last Name,Email,Job Title,Phone Number,Company Name,Country/Region,Lifecycle Stage,Lead Status,Create Date\n"...)
		} else {
			i := f.next
			f.buf = fmt.Appendf(f.buf, "%d,First%d,Last%d,person%d@company%d.test,%s,+1 555 %04d,Company %d,%s,lead,%s,2024-%02d-%02d %02d:%02d\n",
				1000000+i, i, i, i, i/20, benchTitles[i%len(benchTitles)], i%10000, i/20, benchCountries[i%len(benchCountries)],
				benchStatuses[i%len(benchStatuses)], 1+i%12, 1+i%28, i%24, i%60)
		}
		f.next++
	}
	if len(f.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.buf)
	f.buf = f.buf[:copy(f.buf, f.buf[n:])]
	return n, nil
}

var (
	benchTitles    = []string{"VP Marketing", "Engineer", "Director of Sales", "Analyst", "Head of Growth", "CTO"}
	benchCountries = []string{"United States", "Canada", "Germany", "France", "United Kingdom"}
	benchStatuses  = []string{"New", "Open", "In Progress", "", "Attempted to Contact"}
)
