package store

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"tandem/agreement"
)

// TestCarriedLines pins which changes between two versions let engagement carry over
// without reading events, and which fit rules keep the stored fits.
func TestCarriedLines(t *testing.T) {
	const base = `name: t
timezone: UTC
scoring:
  engagement:
    half_life: 14d
    rules:
      - { name: demo, on: 'track:Demo Requested', points: 40, cap: { times: 1, per: 1d } }
      - { name: pricing, on: page, when: 'properties.path startsWith "/pricing"', points: 5, cap: { times: 3, per: 1d } }
      - { name: pages, on: page, points: 1 }
  fit:
    rules:
      - { name: senior, when: 'traits.title == "VP"', points: 20 }
stages:
  - { key: lead, meaning: a }
  - { key: mql, meaning: b, enter_when: 'score.engagement >= 50' }
`
	tests := []struct {
		name     string
		old, new string // replaced in base
		events   bool
		scale    map[string]float64
		drop     []string
		fit      bool
	}{
		{"stage bound only", "score.engagement >= 50", "score.engagement >= 40", false, map[string]float64{}, nil, true},
		{"capped points", "points: 40,", "points: 30,", false, map[string]float64{"demo": 0.75}, nil, true},
		{"capped rule dropped", "      - { name: demo, on: 'track:Demo Requested', points: 40, cap: { times: 1, per: 1d } }\n", "", false, map[string]float64{}, []string{"demo"}, true},
		{"uncapped points", "points: 1 }", "points: 2 }", true, nil, nil, true},
		{"uncapped rule dropped", "      - { name: pages, on: page, points: 1 }\n", "", true, nil, nil, true},
		{"condition", `startsWith "/pricing"`, `== "/pricing"`, true, nil, nil, true},
		{"cap", "times: 3", "times: 4", true, nil, nil, true},
		{"rule added", "      - { name: pages,", "      - { name: docs, on: 'page:Docs', points: 3 }\n      - { name: pages,", true, nil, nil, true},
		{"rule renamed", "name: pages,", "name: views,", true, nil, nil, true},
		{"half-life", "half_life: 14d", "half_life: 7d", true, nil, nil, true},
		{"fit points", "points: 20 }", "points: 25 }", false, map[string]float64{}, nil, false},
		{"fit condition", `traits.title == "VP"`, `traits.title == "CEO"`, false, map[string]float64{}, nil, false},
	}
	parse := func(doc string) *agreement.Scoring {
		a, err := agreement.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return &a.Scoring
	}
	from := parse(base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(base, tt.old, tt.new, 1)
			if doc == base {
				t.Fatalf("%q is not in the agreement", tt.old)
			}
			c := carryOverOf(from, parse(doc))
			if c.events != tt.events || c.fit != tt.fit {
				t.Errorf("events %v, fit %v; want %v, %v", c.events, c.fit, tt.events, tt.fit)
			}
			if !tt.events && (!maps.Equal(c.scale, tt.scale) || !slices.Equal(c.drop, tt.drop)) {
				t.Errorf("scale %v, drop %v; want %v, %v", c.scale, c.drop, tt.scale, tt.drop)
			}
		})
	}
}
