//go:build race

package store_test

// raceEnabled says the race detector is on, which slows the writer tens of times.
const raceEnabled = true
