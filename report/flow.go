package report

import "time"

// StageFlow is how contacts that entered a funnel stage in a period moved on to the next
// one: how many entered, how many reached the next stage (by now), and the median wall-
// clock time they took.
type StageFlow struct {
	Stage   string `json:"stage"`
	Next    string `json:"next"`
	Entered int    `json:"entered"`
	Reached int    `json:"reached"`
	// Conversion is Reached over Entered, nil when none entered.
	Conversion *float64 `json:"conversion"`
	// MedianTime is the median time from entering the stage to entering the next, over
	// those that did; nil when none did.
	MedianTime *Duration `json:"median_time"`
}

// Flow sums up one stage's flow from the number that entered it and the waits of those
// that reached the next stage.
func Flow(stage, next string, entered int, waits []time.Duration) StageFlow {
	return StageFlow{Stage: stage, Next: next, Entered: entered, Reached: len(waits),
		Conversion: share(len(waits), entered), MedianTime: median(waits)}
}
