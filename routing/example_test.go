package routing_test

import (
	"fmt"

	"tandem/agreement"
	"tandem/routing"
)

func ExampleDecide() {
	a, err := agreement.Parse(agreement.Default)
	if err != nil {
		panic(err)
	}
	reps := map[string]routing.Rep{
		"alice@example.com": {Email: "alice@example.com", Available: true},
		"bob@example.com":   {Email: "bob@example.com", Available: true},
		"owner@example.com": {Email: "owner@example.com", Available: false},
	}
	var st routing.State // loaded from the database, and stored back with the assignment
	f := &agreement.Facts{
		Traits:  map[string]any{"country": "US"},
		Account: agreement.Account{Owner: "owner@example.com"},
	}
	for range 3 {
		d := routing.Decide(a, f, f.Account.Owner, reps, &st, "")
		fmt.Printf("%s via %s: %s; skipped %q\n", d.Rep, d.Route, d.Reason, d.Skipped)
	}
	// Output:
	// alice@example.com via north america: round robin na: alice@example.com (weight 2, served 1 of 1); skipped ["owner@example.com: unavailable (account owner, route existing account)"]
	// bob@example.com via north america: round robin na: bob@example.com (weight 1, served 1 of 2); skipped ["owner@example.com: unavailable (account owner, route existing account)"]
	// alice@example.com via north america: round robin na: alice@example.com (weight 2, served 2 of 3); skipped ["owner@example.com: unavailable (account owner, route existing account)"]
}
