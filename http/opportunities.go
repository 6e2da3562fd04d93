package http

import (
	"context"
	"net/http"
	"strconv"

	"tandem"
)

// The opportunities API: the deals sales works on with an account. Creating one moves
// its contacts to the stage the agreement enters on opportunity_created, winning it to
// the one entered on opportunity_won.

// newOpportunity is the body that creates an opportunity.
type newOpportunity struct {
	Name          string                     `json:"name"`
	ExternalID    string                     `json:"external_id"`
	AccountID     *int64                     `json:"account_id"`
	Amount        float64                    `json:"amount"`
	Currency      string                     `json:"currency"`
	Stage         string                     `json:"stage"`
	ExpectedClose *string                    `json:"expected_close"`
	Owner         string                     `json:"owner"`
	Contacts      []tandem.OpportunityPerson `json:"contacts"`
}

func (s *Server) createOpportunity(w http.ResponseWriter, r *http.Request) {
	var body newOpportunity
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	closeBy, err := optionalDate("expected_close", body.ExpectedClose)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	created, err := s.store.CreateOpportunity(r.Context(), &tandem.Opportunity{
		Name: body.Name, ExternalID: body.ExternalID, AccountID: body.AccountID, Amount: body.Amount,
		Currency: body.Currency, Stage: body.Stage, ExpectedClose: closeBy, Owner: body.Owner, Contacts: body.Contacts,
	}, actor(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/opportunities/"+strconv.FormatInt(created.ID, 10))
	writeJSON(w, http.StatusCreated, created)
}

// listOpportunities lists deals in id order, of one status and account when given.
func (s *Server) listOpportunities(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	q := r.URL.Query()
	status := tandem.OpportunityStatus(q.Get("status"))
	switch status {
	case "", tandem.OpportunityOpen, tandem.OpportunityWon, tandem.OpportunityLost:
	default:
		s.problem(w, r, tandem.Errorf(tandem.EInvalid, "status: want open, won or lost, got %q", status))
		return
	}
	var accountID int64
	if a := q.Get("account_id"); a != "" {
		if accountID, err = strconv.ParseInt(a, 10, 64); err != nil || accountID <= 0 {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "account_id: %q is not a positive integer", a))
			return
		}
	}
	list, err := s.store.Opportunities(r.Context(), status, accountID, p)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	res := listOf(list)
	if len(list) == p.Limit {
		c := cursor(list[len(list)-1].ID, nil)
		res.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) opportunity(w http.ResponseWriter, r *http.Request) {
	byID(s, w, r, s.store.Opportunity)
}

// opportunityChange is the body of a partial update: fields left out or null stay.
type opportunityChange struct {
	Name          *string  `json:"name"`
	Amount        *float64 `json:"amount"`
	Currency      *string  `json:"currency"`
	Stage         *string  `json:"stage"`
	ExpectedClose *string  `json:"expected_close"`
	Owner         *string  `json:"owner"`
}

func (s *Server) updateOpportunity(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var body opportunityChange
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	closeBy, err := optionalDate("expected_close", body.ExpectedClose)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	o, err := s.store.UpdateOpportunity(r.Context(), id, tandem.OpportunityChange{
		Name: body.Name, Amount: body.Amount, Currency: body.Currency, Stage: body.Stage,
		ExpectedClose: closeBy, Owner: body.Owner,
	}, actor(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) winOpportunity(w http.ResponseWriter, r *http.Request) {
	withoutInput(s, w, r, func(ctx context.Context, id int64) (*tandem.Opportunity, error) {
		return s.store.WinOpportunity(ctx, id, actor(r))
	})
}

func (s *Server) loseOpportunity(w http.ResponseWriter, r *http.Request) {
	withReason(s, w, r, func(ctx context.Context, id int64, reason string) (*tandem.Opportunity, error) {
		return s.store.LoseOpportunity(ctx, id, reason, actor(r))
	})
}
