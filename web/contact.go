package web

import (
	"net/http"
	"strconv"

	"tandem"
)

type contactData struct {
	Contact     *tandem.Contact
	Account     *tandem.Account
	Score       *tandem.ScoreBreakdown
	Stages      []*tandem.StageChange
	Events      []*tandem.Event
	Assignments []*tandem.Assignment
}

// contact is a person's page: profile, account, score breakdown, stage history, the
// leads handed to sales and the event timeline.
func (a *App) contact(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.fail(w, r, tandem.Errorf(tandem.ENotFound, "no such contact"))
		return
	}
	ctx := r.Context()
	var d contactData
	if d.Contact, err = a.store.Contact(ctx, id); err != nil {
		a.fail(w, r, err)
		return
	}
	id = d.Contact.ID // a merged contact's old id shows the survivor
	if d.Contact.AccountID != nil {
		if d.Account, err = a.store.Account(ctx, *d.Contact.AccountID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if d.Contact.Score != nil {
		if d.Score, err = a.store.ContactScore(ctx, id); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if d.Stages, err = a.store.ContactStages(ctx, id); err != nil {
		a.fail(w, r, err)
		return
	}
	if d.Events, err = a.store.ContactEvents(ctx, id, tandem.Page{Limit: 50}); err != nil {
		a.fail(w, r, err)
		return
	}
	if d.Assignments, err = a.store.Assignments(ctx, tandem.AssignmentFilter{ContactID: id}, tandem.Page{Limit: 50}); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "contact", page{Title: orText(d.Contact.Email, "Contact "+strconv.FormatInt(id, 10)), Data: d})
}

type accountData struct {
	Account  *tandem.Account
	Contacts []*tandem.Contact
}

// account is a company's page with its people, hottest first.
func (a *App) account(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.fail(w, r, tandem.Errorf(tandem.ENotFound, "no such account"))
		return
	}
	var d accountData
	if d.Account, err = a.store.Account(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	if d.Contacts, err = a.store.Contacts(r.Context(), tandem.ContactFilter{AccountID: id}, tandem.Page{Limit: 200}); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "account", page{Title: orText(d.Account.Name, d.Account.Domain), Data: d})
}

func orText(s, or string) string {
	if s == "" {
		return or
	}
	return s
}
