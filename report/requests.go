package report

import (
	"slices"
	"strings"
	"time"

	"tandem/sla"
)

// RequestRow is one request of sales to marketing, as the report sees it.
type RequestRow struct {
	ID                  int64
	Type, Title         string
	Requester, Assignee string
	Open                bool // neither declined nor confirmed
	Declined            bool
	CreatedAt, DueAt    time.Time
	DeliveredAt         time.Time // zero until delivered
	// MQLs is, for a request of leads at target accounts, the MQLs those accounts
	// produced since it was filed; Accounts how many accounts it named.
	Accounts, MQLs int
}

// RequestsInput is what the requests part of the report is made of.
type RequestsInput struct {
	Now      time.Time
	Calendar *sla.Calendar
	// Requests are those filed in the period.
	Requests []RequestRow
	// LeadsType is the request type whose MQLs are counted.
	LeadsType string
}

// Turnaround is how one group of requests fared against the agreement's turnaround:
// delivered on time means at or before the due time, counted in business hours from
// filing like sales' accept clock.
type Turnaround struct {
	Key       string `json:"key"`
	Filed     int    `json:"filed"`
	Delivered int    `json:"delivered"`
	OnTime    int    `json:"on_time"`
	// OnTimeShare is OnTime over the requests decided: delivered, or overdue and not
	// delivered. Nil when none is.
	OnTimeShare      *float64  `json:"on_time_share"`
	MedianTurnaround *Duration `json:"median_turnaround"`
}

// Count is a number of requests for a key, such as a rep.
type Count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// LeadsResult closes the loop of a leads request: the MQLs its accounts produced since.
type LeadsResult struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Accounts int    `json:"accounts"`
	MQLs     int    `json:"mqls"`
}

// RequestsReport is marketing's turnaround on sales' requests: the mirror image of the
// sales follow-up figures, on the same SLA report.
type RequestsReport struct {
	Turnaround
	ByType     []Turnaround  `json:"by_type"`
	ByAssignee []Turnaround  `json:"by_assignee"`
	PerRep     []Count       `json:"per_rep"`
	OpenByAge  []Count       `json:"open_by_age"`
	Leads      []LeadsResult `json:"leads"`
}

// ageBuckets are the ages, on the wall clock, open requests are counted by.
var ageBuckets = []struct {
	label string
	under time.Duration
}{
	{"under a day", 24 * time.Hour},
	{"1–3 days", 3 * 24 * time.Hour},
	{"3–7 days", 7 * 24 * time.Hour},
	{"over a week", 1 << 62},
}

// Requests sums up the requests of in.
func Requests(in RequestsInput) RequestsReport {
	r := RequestsReport{Turnaround: turnaround("all", in.Requests, in.Now, in.Calendar)}
	group := func(key func(RequestRow) string) []Turnaround {
		by := map[string][]RequestRow{}
		for _, q := range in.Requests {
			by[key(q)] = append(by[key(q)], q)
		}
		out := []Turnaround{}
		for _, k := range sortedKeys(by) {
			out = append(out, turnaround(k, by[k], in.Now, in.Calendar))
		}
		return out
	}
	r.ByType = group(func(q RequestRow) string { return q.Type })
	r.ByAssignee = group(func(q RequestRow) string {
		if q.Assignee == "" {
			return "(not triaged)"
		}
		return q.Assignee
	})
	perRep := map[string]int{}
	for _, q := range in.Requests {
		perRep[q.Requester]++
	}
	r.PerRep = []Count{}
	for _, k := range sortedKeys(perRep) {
		r.PerRep = append(r.PerRep, Count{k, perRep[k]})
	}
	r.OpenByAge = make([]Count, len(ageBuckets))
	for i, b := range ageBuckets {
		r.OpenByAge[i].Key = b.label
	}
	r.Leads = []LeadsResult{}
	for _, q := range in.Requests {
		if q.Open {
			age := in.Now.Sub(q.CreatedAt)
			i := slices.IndexFunc(ageBuckets, func(b struct {
				label string
				under time.Duration
			}) bool {
				return age < b.under
			})
			r.OpenByAge[i].Count++
		}
		if q.Type == in.LeadsType {
			r.Leads = append(r.Leads, LeadsResult{ID: q.ID, Title: q.Title, Accounts: q.Accounts, MQLs: q.MQLs})
		}
	}
	return r
}

func turnaround(key string, qs []RequestRow, now time.Time, cal *sla.Calendar) Turnaround {
	t := Turnaround{Key: key}
	var took []time.Duration
	decided := 0
	for _, q := range qs {
		t.Filed++
		switch {
		case !q.DeliveredAt.IsZero():
			t.Delivered++
			decided++
			if !q.DeliveredAt.After(q.DueAt) {
				t.OnTime++
			}
			took = append(took, cal.Elapsed(q.CreatedAt, q.DeliveredAt))
		case !q.Declined && now.After(q.DueAt):
			decided++ // late, and still not delivered
		}
	}
	t.OnTimeShare = share(t.OnTime, decided)
	t.MedianTurnaround = median(took)
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}
