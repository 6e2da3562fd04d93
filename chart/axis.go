package chart

import "math"

// niceTicks returns about five evenly spaced round values, steps of 1, 2, 2.5 or 5 times
// a power of ten, from at or below lo to at or above hi; and the decimals that show
// them. A span too narrow to divide is widened upwards. lo and hi must be finite and
// within ±1e302.
func niceTicks(lo, hi float64) (ticks []float64, dec int) {
	if !(hi-lo >= 1e-9*max(1, math.Abs(lo), math.Abs(hi))) {
		hi = lo + max(1, math.Abs(lo))
	}
	raw := (hi - lo) / 4
	e := int(math.Floor(math.Log10(raw)))
	var m float64
	for _, m = range []float64{1, 2, 2.5, 5, 10} {
		// 2.5 with e == 0 would put halves on a scale of whole numbers, such as counts.
		if m == 2.5 && e == 0 {
			continue
		}
		if m*pow10(e) >= raw*(1-1e-12) {
			break
		}
	}
	// Each tick is computed from integers, not summed, so that it is the double nearest
	// its decimal value: 0.3, not 0.30000000000000004.
	at := func(k float64) float64 {
		if e < 0 {
			return k * m / math.Pow10(-e)
		}
		return k * m * math.Pow10(e)
	}
	step := at(1)
	for k := math.Floor(lo/step + 1e-9); ; k++ {
		t := at(k)
		ticks = append(ticks, t)
		if t >= hi-step*1e-9 {
			break
		}
	}
	switch dec = -e; m {
	case 2.5:
		dec++
	case 10:
		dec--
	}
	return ticks, max(dec, 0)
}

func pow10(e int) float64 {
	if e < 0 {
		return 1 / math.Pow10(-e)
	}
	return math.Pow10(e)
}
