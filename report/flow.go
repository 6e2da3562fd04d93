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

// SourceFunnel follows the contacts that became MQLs in a period and came through one
// source (the channel or campaign of the first campaign touch before they qualified)
// to an opportunity and to a won deal.
type SourceFunnel struct {
	Source        string `json:"source"`
	MQLs          int    `json:"mqls"`
	Opportunities int    `json:"opportunities"`
	Won           int    `json:"won"`
	// The conversions are shares of the stage before (of MQLs for MQLToWon); nil when
	// it is empty.
	MQLToOpportunity *float64 `json:"mql_to_opportunity"`
	OpportunityToWon *float64 `json:"opportunity_to_won"`
	MQLToWon         *float64 `json:"mql_to_won"`
	// The median calendar times from MQL to opportunity, from opportunity to won, and
	// from MQL to won (the cycle) of those that made it; nil when none did.
	TimeToOpportunity *Duration `json:"time_to_opportunity"`
	TimeToWin         *Duration `json:"time_to_win"`
	Cycle             *Duration `json:"cycle"`
}

// Funnel sums up one source's MQLs from their count and the times of those that moved
// on: to an opportunity (from MQL), to won (from the opportunity) and the whole cycle.
func Funnel(source string, mqls int, toOpportunity, toWin, cycle []time.Duration) SourceFunnel {
	return SourceFunnel{Source: source, MQLs: mqls, Opportunities: len(toOpportunity), Won: len(cycle),
		MQLToOpportunity: share(len(toOpportunity), mqls), OpportunityToWon: share(len(cycle), len(toOpportunity)),
		MQLToWon: share(len(cycle), mqls), TimeToOpportunity: median(toOpportunity), TimeToWin: median(toWin), Cycle: median(cycle)}
}
