package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"tandem"
	"tandem/agreement"
)

type agreementData struct {
	Active   *tandem.Agreement
	Terms    *agreement.Agreement
	Versions []*tandem.Agreement
}

// agreementPage shows the active agreement in plain words: every stage's meaning beside
// its rule, the scoring rules, routing and each side's promise, and every version.
func (a *App) agreementPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var d agreementData
	var err error
	if d.Versions, err = a.store.AgreementVersions(ctx); err != nil {
		a.fail(w, r, err)
		return
	}
	if d.Active, err = a.store.ActiveAgreement(ctx); err != nil && tandem.ErrorCode(err) != tandem.ENotFound {
		a.fail(w, r, err)
		return
	}
	if d.Active != nil {
		if d.Terms, err = agreement.Parse([]byte(d.Active.Document)); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.render(w, r, http.StatusOK, "agreement", page{Title: "The agreement", Data: d})
}

// docLine is a line of a submitted document with the problems found on it.
type docLine struct {
	N        int
	Text     string
	Problems []tandem.DocumentError
}

type editData struct {
	Document string
	Lines    []docLine
	Problems []tandem.DocumentError
	Based    int
}

// agreementEdit is the editor: the active document (or a version's) to change and
// propose. Problems show beside the lines they are on.
func (a *App) agreementEdit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var d editData
	src, err := a.store.ActiveAgreement(ctx)
	if v := r.URL.Query().Get("from"); v != "" {
		n, _ := strconv.Atoi(v)
		src, err = a.store.AgreementVersion(ctx, n)
	}
	switch {
	case err == nil:
		d.Document, d.Based = src.Document, src.Version
	case tandem.ErrorCode(err) == tandem.ENotFound:
		d.Document = string(agreement.Default)
	default:
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "agreement_edit", page{Title: "Propose a change", Data: d})
}

// problemsOf returns the document problems an error lists, nil when it is of another
// kind.
func problemsOf(err error) []tandem.DocumentError {
	var e *tandem.Error
	if errors.As(err, &e) {
		return e.Document
	}
	return nil
}

// agreementValidate checks a document as proposing it would, storing nothing, for the
// editor's live check: it answers {"errors": [...]} with each problem's rule, line,
// column and message.
func (a *App) agreementValidate(w http.ResponseWriter, r *http.Request) {
	err := a.store.ValidateAgreement([]byte(formDocument(r)))
	problems := problemsOf(err)
	if err != nil && problems == nil {
		problems = []tandem.DocumentError{{Message: tandem.ErrorMessage(err)}}
	}
	if problems == nil {
		problems = []tandem.DocumentError{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": problems})
}

// agreementPropose proposes the edited document as a new version, for the other team
// to approve; a document with problems comes back with each beside its line.
func (a *App) agreementPropose(w http.ResponseWriter, r *http.Request) {
	doc := formDocument(r)
	v, err := a.store.ProposeAgreement(r.Context(), []byte(doc), "", sessionOf(r).actor())
	if err != nil {
		problems := problemsOf(err)
		if problems == nil {
			a.fail(w, r, err)
			return
		}
		d := editData{Document: doc, Problems: problems}
		for i, text := range strings.Split(doc, "\n") {
			l := docLine{N: i + 1, Text: text}
			for _, p := range problems {
				if p.Line == i+1 {
					l.Problems = append(l.Problems, p)
				}
			}
			d.Lines = append(d.Lines, l)
		}
		a.render(w, r, http.StatusUnprocessableEntity, "agreement_edit", page{Title: "Propose a change", Data: d,
			Error: "The agreement has problems; nothing was saved."})
		return
	}
	http.Redirect(w, r, "/agreement/versions/"+strconv.Itoa(v.Version)+"?done=Proposed: the other team can approve it now.", http.StatusSeeOther)
}

// formDocument is the document a form sent. Browsers send a textarea's line breaks as
// CRLF; the document keeps the LF of the versions before it, so that their diff shows
// only the lines that changed.
func formDocument(r *http.Request) string {
	return strings.ReplaceAll(r.PostFormValue("document"), "\r\n", "\n")
}

type versionData struct {
	Version  *tandem.Agreement
	Diff     string
	Previous int
	Terms    *agreement.Agreement
}

// agreementVersion shows one version with its diff from the one before, and lets the
// other team approve it.
func (a *App) agreementVersion(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		a.fail(w, r, tandem.Errorf(tandem.ENotFound, "no such version"))
		return
	}
	ctx := r.Context()
	var d versionData
	if d.Version, err = a.store.AgreementVersion(ctx, n); err != nil {
		a.fail(w, r, err)
		return
	}
	if n > 1 {
		d.Previous = n - 1
		if d.Diff, err = a.store.AgreementDiff(ctx, n-1, n); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if d.Terms, err = agreement.Parse([]byte(d.Version.Document)); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "agreement_version", page{Title: "Agreement version " + strconv.Itoa(n), Data: d})
}

func (a *App) agreementApprove(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		a.fail(w, r, tandem.Errorf(tandem.ENotFound, "no such version"))
		return
	}
	if _, err := a.store.ApproveAgreement(r.Context(), n, sessionOf(r).actor()); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/agreement?done=Approved: version "+strconv.Itoa(n)+" is active and every contact is being rescored.", http.StatusSeeOther)
}
