package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"tandem/notify"
)

// hookPath is the receiver's path, shaped as a Slack incoming webhook's: team, hook and,
// last, the secret the URL carries, which errors must never show.
const (
	hookSecret = "s3cr3t-hook-token"
	hookPath   = "/services/T0TEAM/B0HOOK/" + hookSecret
)

type slackMessage struct {
	Text   string
	Blocks []struct {
		Type string
		Text struct {
			Type, Text string
		}
	}
}

// slackReceiver is an incoming webhook that records what it was sent and answers as
// Slack does.
func slackReceiver(tb testing.TB, got *slackMessage) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != hookPath {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "no_service")
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			tb.Errorf("got Content-Type %q, want application/json", ct)
		}
		if err := json.NewDecoder(r.Body).Decode(got); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "invalid_payload")
			return
		}
		io.WriteString(w, "ok")
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestPostSlack(t *testing.T) {
	tests := []struct {
		name        string
		ev          notify.Event
		wantText    string
		wantHeader  string
		wantSection string // empty: no section block
	}{{
		name:        "lead",
		ev:          lead(),
		wantText:    "New lead for you: Ada Lovelace (ada@example.com), score 90",
		wantHeader:  "New lead for you: Ada Lovelace (ada@example.com), score 90",
		wantSection: "Ada Lovelace of Analytical Engines Ltd\nScore 90, grade A\n\n<https://tandem.example.com/contacts/42|Open in Tandem>",
	}, {
		name: "markup escaped",
		ev: notify.Event{ID: "msg_2", Type: "sla.breached", At: at,
			Title: "Ada <ada@example.com> & <!channel>", Text: "Tom & Jerry <b>bold</b>",
			URL: "https://tandem.example.com/c?a=1&b=2|x"},
		wantText:    "Ada &lt;ada@example.com&gt; &amp; &lt;!channel&gt;",
		wantHeader:  "Ada <ada@example.com> & <!channel>",
		wantSection: "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt;\n\n<https://tandem.example.com/c?a=1&amp;b=2%7Cx|Open in Tandem>",
	}, {
		name:       "title only, on one line",
		ev:         notify.Event{ID: "msg_3", Type: "sla.warning", At: at, Title: "SLA warning:\n  Ada"},
		wantText:   "SLA warning: Ada",
		wantHeader: "SLA warning: Ada",
	}, {
		name:       "no title",
		ev:         notify.Event{ID: "msg_4", Type: "lead.recycled", At: at},
		wantText:   "lead.recycled",
		wantHeader: "lead.recycled",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got slackMessage
			srv := slackReceiver(t, &got)
			r := notify.PostSlack(context.Background(), srv.Client(), srv.URL+hookPath, tt.ev)
			if r.Err != nil || r.Status != 200 || r.Response != "ok" {
				t.Fatalf("got %+v, want 200 ok", r)
			}
			if got.Text != tt.wantText {
				t.Errorf("got text %q, want %q", got.Text, tt.wantText)
			}
			if len(got.Blocks) == 0 || got.Blocks[0].Type != "header" || got.Blocks[0].Text.Type != "plain_text" ||
				got.Blocks[0].Text.Text != tt.wantHeader {
				t.Fatalf("got blocks %+v, want a plain_text header %q", got.Blocks, tt.wantHeader)
			}
			var section string
			if len(got.Blocks) > 1 {
				if b := got.Blocks[1]; b.Type != "section" || b.Text.Type != "mrkdwn" {
					t.Errorf("got block %+v, want a mrkdwn section", b)
				}
				section = got.Blocks[1].Text.Text
			}
			if section != tt.wantSection {
				t.Errorf("got section %q, want %q", section, tt.wantSection)
			}
		})
	}
}

func TestPostSlackLimits(t *testing.T) {
	var got slackMessage
	srv := slackReceiver(t, &got)
	ev := lead()
	ev.Title = strings.Repeat("T", 200)
	ev.Text = strings.Repeat("a", 2990) + "&&&&&&&&&&"
	r := notify.PostSlack(context.Background(), nil, srv.URL+hookPath, ev)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if h := got.Blocks[0].Text.Text; utf8.RuneCountInString(h) != 150 || !strings.HasSuffix(h, "T…") {
		t.Errorf("got header of %d characters, want 150 ending in …", utf8.RuneCountInString(h))
	}
	s := got.Blocks[1].Text.Text
	if n := utf8.RuneCountInString(s); n > 3000 {
		t.Errorf("got section of %d characters, want at most 3000", n)
	}
	text, link, _ := strings.Cut(s, "\n\n")
	if !strings.HasSuffix(text, "a…") && !strings.HasSuffix(text, "&amp;…") {
		t.Errorf("got section text ending %q, want a cut at a whole entity", text[len(text)-12:])
	}
	if link != "<https://tandem.example.com/contacts/42|Open in Tandem>" {
		t.Errorf("got link %q", link)
	}
}

func TestPostSlackFailure(t *testing.T) {
	var got slackMessage
	srv := slackReceiver(t, &got)
	r := notify.PostSlack(context.Background(), nil, srv.URL+"/services/T0TEAM/B0HOOK/wrong", lead())
	if r.Status != 404 || r.Retry || r.Response != "no_service" || r.Err == nil {
		t.Errorf("got %+v, want a 404 not to retry", r)
	}
	srv.Close()
	r = notify.PostSlack(context.Background(), nil, srv.URL+hookPath, lead())
	if r.Status != 0 || !r.Retry || r.Err == nil || strings.Contains(r.Err.Error(), hookSecret) {
		t.Errorf("got %+v, want a network error to retry, without the URL", r)
	}
}
