package ingest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"tandem"
)

var received = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func TestEventTime(t *testing.T) {
	tests := []struct {
		name, body string
		want       time.Time
	}{
		{"no timestamp: received", `{"userId":"u","event":"e"}`, received},
		{"timestamp without sentAt: as sent", `{"userId":"u","event":"e","timestamp":"2026-03-01T08:00:00Z"}`, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)},
		{"fast client clock", `{"userId":"u","event":"e","timestamp":"2026-03-02T13:00:00Z","sentAt":"2026-03-02T13:00:10Z"}`, received.Add(-10 * time.Second)},
		{"slow client clock", `{"userId":"u","event":"e","timestamp":"2020-01-01T00:00:00Z","sentAt":"2020-01-01T00:01:00Z"}`, received.Add(-time.Minute)},
		{"offset zone", `{"userId":"u","event":"e","timestamp":"2026-03-01T09:00:00+01:00"}`, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)},
		{"originalTimestamp", `{"userId":"u","event":"e","originalTimestamp":"2026-03-02T11:59:00.000Z","sentAt":"2026-03-02T11:59:30.000Z"}`, received.Add(-30 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, m, err := DecodeSingle([]byte(tt.body), tandem.TypeTrack, 1, received)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Timestamp.Equal(tt.want) {
				t.Errorf("timestamp = %v, want %v", m.Timestamp, tt.want)
			}
		})
	}
}

func TestDecodeBatch(t *testing.T) {
	body := `{"batch":[
		{"type":"identify","userId":42,"anonymousId":"a-1","traits":{"email":" Ann@Acme.TEST ","plan":"pro"},"timestamp":"2026-03-02T11:00:00Z"},
		{"type":"track","anonymousId":"a-1","event":"Demo Requested","context":{"traits":{"email":"ann@acme.test"}}},
		{"type":"page","userId":"u-2","properties":{"name":"Pricing","path":"/pricing"}},
		{"type":"track","userId":"u-3","event":"x","properties":"nope"},
		{"type":"group","userId":"u-2","groupId":"g-1","traits":{"email":"billing@acme.test","name":"Acme"}}
	],"sentAt":"2026-03-02T11:00:01Z","context":{"library":{"name":"analytics-node"}},"writeKey":"wk"}`
	b, err := DecodeBatch([]byte(body), 7, received)
	if err != nil {
		t.Fatal(err)
	}
	if b.WriteKey != "wk" || len(b.Messages) != 4 || len(b.Errors) != 1 {
		t.Fatalf("write key %q, %d messages, %d errors; want wk, 4, 1", b.WriteKey, len(b.Messages), len(b.Errors))
	}
	if e := b.Errors[0]; e.Index != 3 || e.Pointer != "/batch/3/properties" {
		t.Errorf("error = %+v, want index 3 at /batch/3/properties", e)
	}
	id, tr, pg, gr := b.Messages[0], b.Messages[1], b.Messages[2], b.Messages[3]
	if id.UserID != "42" || id.Email != "ann@acme.test" || id.Traits["plan"] != "pro" || id.SourceID != 7 {
		t.Errorf("identify = %+v", id)
	}
	if !id.Timestamp.Equal(received.Add(-time.Second)) {
		t.Errorf("batch sentAt not applied: timestamp %v", id.Timestamp)
	}
	if tr.Email != "ann@acme.test" {
		t.Errorf("email from context.traits = %q, want ann@acme.test", tr.Email)
	}
	if !strings.Contains(string(tr.Context), `"traits"`) || !strings.Contains(string(pg.Context), "analytics-node") {
		t.Errorf("contexts: own %s, inherited %s", tr.Context, pg.Context)
	}
	if pg.Name != "Pricing" {
		t.Errorf("page name = %q, want Pricing from properties", pg.Name)
	}
	if gr.Email != "" || gr.GroupID != "g-1" {
		t.Errorf("group: email %q (an account's email is not the person's), group %q", gr.Email, gr.GroupID)
	}
	if id.MessageID == "" || id.MessageID == tr.MessageID {
		t.Errorf("messages without messageId get distinct ones: %q, %q", id.MessageID, tr.MessageID)
	}
}

func TestDecodeRefusals(t *testing.T) {
	tests := []struct{ name, body, pointer string }{
		{"long user id", `{"type":"track","event":"e","userId":"` + strings.Repeat("x", 256) + `"}`, "/batch/0/userId"},
		{"invalid utf8", "{\"type\":\"track\",\"event\":\"\xff\",\"userId\":\"u\"}", "/batch/0"},
		{"userId object", `{"type":"track","event":"e","userId":{"a":1}}`, "/batch/0/userId"},
		{"traits array", `{"type":"identify","userId":"u","traits":[]}`, "/batch/0/traits"},
		{"too big", `{"type":"track","event":"e","userId":"u","properties":{"x":"` + strings.Repeat("y", MaxMessageBytes) + `"}}`, "/batch/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeBatch([]byte(`{"batch":[`+tt.body+`]}`), 1, received)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Errors) != 1 || b.Errors[0].Pointer != tt.pointer {
				t.Fatalf("errors = %+v, want one at %s", b.Errors, tt.pointer)
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := DecodeBatch([]byte("{\"batch\": [\n  {\"type\": \"track\",,}\n]}"), 1, received)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a SyntaxError", err)
	}
	if se.Line != 2 || se.Column != 20 {
		t.Errorf("at %d:%d, want 2:20", se.Line, se.Column)
	}
}
