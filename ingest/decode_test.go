package ingest

import (
	"errors"
	"fmt"
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
	tests := []struct{ name, body, pointer, detail string }{
		{"long user id", `{"type":"track","event":"e","userId":"` + strings.Repeat("x", 256) + `"}`, "/batch/0/userId", "is 256 characters long; at most 255"},
		{"long user id counted in characters", `{"type":"track","event":"e","userId":"` + strings.Repeat("é", 256) + `"}`, "/batch/0/userId", "is 256 characters long"},
		{"long event counted in characters", `{"type":"track","event":"` + strings.Repeat("ü", 256) + `","userId":"u"}`, "/batch/0/event", "is 256 characters long"},
		{"invalid utf8", "{\"type\":\"track\",\"event\":\"\xff\",\"userId\":\"u\"}", "/batch/0", "the message is not valid UTF-8"},
		{"NUL in a property", `{"type":"track","event":"e","userId":"u","properties":{"p":"a\u0000b"}}`, "/batch/0", `the message contains a NUL character (\u0000), which cannot be stored`},
		{"NUL in a key", `{"type":"track","event":"e","userId":"u","properties":{"\u0000":1}}`, "/batch/0", `NUL character (\u0000)`},
		{"NUL after an escaped backslash", `{"type":"track","event":"e","userId":"u","properties":{"p":"C:\\\u0000"}}`, "/batch/0", `NUL character (\u0000)`},
		{"NUL in the event", `{"type":"track","event":"e\u0000","userId":"u"}`, "/batch/0", `NUL character (\u0000)`},
		{"lone high surrogate at the end of a string", `{"type":"track","event":"e","userId":"u","properties":{"p":"\ud800"}}`, "/batch/0", `the message contains an unpaired UTF-16 surrogate (\ud800), which cannot be stored`},
		{"high surrogate before a letter", `{"type":"track","event":"e","userId":"u","properties":{"p":"\uD83Dx"}}`, "/batch/0", `unpaired UTF-16 surrogate (\uD83D)`},
		{"high surrogate before another escape", `{"type":"track","event":"e","userId":"u","properties":{"p":"\ud83d\n"}}`, "/batch/0", `unpaired UTF-16 surrogate (\ud83d)`},
		{"two high surrogates", `{"type":"track","event":"e","userId":"u","properties":{"p":"\ud83d\ud83d"}}`, "/batch/0", `unpaired UTF-16 surrogate (\ud83d)`},
		{"lone low surrogate", `{"type":"track","event":"e","userId":"u","context":{"page":{"title":"\ude00"}}}`, "/batch/0", `unpaired UTF-16 surrogate (\ude00)`},
		{"pair in the wrong order", `{"type":"track","event":"e","userId":"u","properties":{"p":"\ude00\ud83d"}}`, "/batch/0", `unpaired UTF-16 surrogate (\ude00)`},
		{"userId object", `{"type":"track","event":"e","userId":{"a":1}}`, "/batch/0/userId", "must be a string or a number"},
		{"traits array", `{"type":"identify","userId":"u","traits":[]}`, "/batch/0/traits", "must be an object"},
		{"too big", `{"type":"track","event":"e","userId":"u","properties":{"x":"` + strings.Repeat("y", MaxMessageBytes) + `"}}`, "/batch/0", "the message is 32"},
		{"bad sentAt of its own", `{"type":"track","event":"e","userId":"u","timestamp":"2026-03-02T11:00:00Z","sentAt":"soon"}`, "/batch/0/sentAt", `"soon" is not an ISO 8601`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeBatch([]byte(`{"batch":[`+tt.body+`]}`), 1, received)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Errors) != 1 || b.Errors[0].Pointer != tt.pointer || b.Errors[0].Index != 0 {
				t.Fatalf("errors = %+v, want one at index 0, %s", b.Errors, tt.pointer)
			}
			if got := b.Errors[0].Detail; !strings.Contains(got, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", got, tt.detail)
			}
		})
	}
}

// Text PostgreSQL stores is kept as the client sent it.
func TestDecodeAcceptsText(t *testing.T) {
	tests := []struct{ name, value string }{
		{"an escaped backslash before u0000", `"C:\\u0000dir"`},
		{"an escaped backslash before ud800", `"\\ud800"`},
		{"a surrogate pair", `"\ud83d\ude00"`},
		{"an upper-case surrogate pair", `"\uD83D\uDE00 \uDBFF\uDFFF"`},
		{"an emoji as UTF-8", `"😀"`},
		{"other escapes", `"\u00e9\u2014\uffff\u0001 \"quoted\" \/ \t\n"`},
		{"a backslash at the end of a string", `"a\\"`},
		{"255 characters in 510 bytes", `"` + strings.Repeat("é", 255) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := `{"p":` + tt.value + `}`
			body := `{"type":"track","userId":` + tt.value + `,"event":"e","properties":` + props + `}`
			b, err := DecodeBatch([]byte(`{"batch":[`+body+`],"context":`+props+`}`), 1, received)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Errors) != 0 || len(b.Messages) != 1 {
				t.Fatalf("errors = %+v, want none", b.Errors)
			}
			if m := b.Messages[0]; string(m.Properties) != props || string(m.Context) != props {
				t.Errorf("properties = %s, context = %s, want both %s", m.Properties, m.Context, props)
			}
		})
	}
}

func TestDecodeBatchEnvelope(t *testing.T) {
	const (
		stamped = `{"type":"track","userId":"u","event":"e","timestamp":"2026-03-02T11:00:00Z"}`
		plain   = `{"type":"track","userId":"u","event":"e"}`
		own     = `{"type":"track","userId":"u","event":"e","context":{"ip":"203.0.113.1"}}`
	)
	tests := []struct {
		name, body string
		err        string // the error refusing the whole batch
		pointer    string // of the one message error, at index 0
		detail     string
	}{
		{"bad sentAt", `{"batch":[` + stamped + `,` + plain + `],"sentAt":"yesterday"}`, "", "/sentAt", `"yesterday" is not an ISO 8601 date and time`},
		{"bad sentAt, unused", `{"batch":[` + plain + `],"sentAt":"yesterday"}`, "", "", ""},
		{"context not an object", `{"batch":[` + plain + `,` + own + `],"context":"web"}`, "", "/context", "must be an object"},
		{"NUL in context", `{"batch":[` + own + `],"context":{"p":"\u0000"}}`, `context: contains a NUL character (\u0000), which cannot be stored`, "", ""},
		{"lone surrogate in context", `{"batch":[` + plain + `],"context":{"p":"\udfff"}}`, `context: contains an unpaired UTF-16 surrogate (\udfff), which cannot be stored`, "", ""},
		{"lone high surrogate ending context", `{"batch":[` + plain + `],"context":{"p":"\udbff"}}`, `context: contains an unpaired UTF-16 surrogate (\udbff), which cannot be stored`, "", ""},
		{"invalid UTF-8 in context", "{\"batch\":[" + plain + "],\"context\":{\"p\":\"\xc3\"}}", "context: is not valid UTF-8", "", ""},
		{"escaped backslash in context", `{"batch":[` + plain + `],"context":{"p":"C:\\u0000dir"}}`, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeBatch([]byte(tt.body), 1, received)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || tandem.ErrorCode(err) != tandem.EInvalid {
					t.Fatalf("err = %v (%s), want %s %q", err, tandem.ErrorCode(err), tandem.EInvalid, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.pointer == "" {
				if len(b.Errors) != 0 {
					t.Errorf("errors = %+v, want none", b.Errors)
				}
				return
			}
			if len(b.Errors) != 1 || len(b.Messages) != 1 {
				t.Fatalf("%d messages, errors %+v; want 1 and one error", len(b.Messages), b.Errors)
			}
			if e := b.Errors[0]; e.Index != 0 || e.Pointer != tt.pointer || !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("error = %+v, want index 0 at %s: %s", e, tt.pointer, tt.detail)
			}
		})
	}
}

func TestMessageErrorString(t *testing.T) {
	tests := []struct {
		err  *MessageError
		want string
	}{
		{&MessageError{Pointer: "/batch/2/event", Detail: "is required for a track call"}, "/batch/2/event: is required for a track call"},
		{&MessageError{Detail: "the message is not valid UTF-8"}, "the message is not valid UTF-8"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	_, _, err := DecodeSingle([]byte(`{"userId":"u","event":"x\u0000"}`), tandem.TypeTrack, 1, received)
	if want := `the message contains a NUL character (\u0000), which cannot be stored`; err == nil || err.Error() != want {
		t.Errorf("single message: got %v, want %q", err, want)
	}
}

// checkText runs on every message, so it must not allocate when the text is good.
func TestCheckTextDoesNotAllocate(t *testing.T) {
	body := benchBatch(t, 100)
	if n := testing.AllocsPerRun(100, func() {
		if err := checkText(body); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

// checkText assumes valid JSON, which the decoder has checked, but cut-off text must
// not make it panic.
func TestCheckTextCutOff(t *testing.T) {
	for _, s := range []string{`\`, `"\`, `\u`, `\u12`, `\ud83d`, `\ud83d\`, `\ud83d\ude0`, `\uzzzz`} {
		_ = checkText([]byte(s))
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

// benchBatch is a /v1/batch body of n track and page calls of about 400 bytes each, as
// the Node.js and browser libraries send them.
func benchBatch(tb testing.TB, n int) []byte {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%5 < 2 {
			fmt.Fprintf(&b, `{"type":"page","messageId":"ajs-next-%016x","userId":"usr_%08d","anonymousId":"6f1c2a4e-9b0d-4c8e-a%03d-2b7d9e0f1a3c",`+
				`"timestamp":"2026-03-02T11:59:%02d.%03dZ","name":"Pricing","properties":{"path":"/pricing","title":"Pricing \u2014 Acme \"Pro\"",`+
				`"url":"https://www.example.com/pricing?plan=pro","referrer":"https://www.google.com/"},`+
				`"context":{"library":{"name":"analytics.js","version":"5.2.1"},"ip":"203.0.113.%d","locale":"en-US"}}`,
				i, i%997, i%1000, i%60, i%1000, 1+i%254)
			continue
		}
		fmt.Fprintf(&b, `{"type":"track","messageId":"node-next-%016x","userId":"usr_%08d","anonymousId":"6f1c2a4e-9b0d-4c8e-a%03d-2b7d9e0f1a3c",`+
			`"timestamp":"2026-03-02T11:59:%02d.%03dZ","event":"Demo Requested","properties":{"plan":"pro","seats":25,"source":"pricing page",`+
			`"revenue":1250.5,"currency":"EUR"},"context":{"library":{"name":"analytics-node","version":"2.1.0"},"ip":"203.0.113.%d",`+
			`"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3)"}}`,
			i, i%997, i%1000, i%60, i%1000, 1+i%254)
	}
	b.WriteString(`],"sentAt":"2026-03-02T11:59:59.500Z","context":{"library":{"name":"analytics-node"}},"writeKey":"wk"}`)
	return []byte(b.String())
}

func BenchmarkDecodeBatch(b *testing.B) {
	body := benchBatch(b, 100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		batch, err := DecodeBatch(body, 1, received)
		if err != nil || len(batch.Messages) != 100 {
			b.Fatalf("got %v, %d messages; want 100", err, len(batch.Messages))
		}
	}
}

func BenchmarkCheckText(b *testing.B) {
	body := benchBatch(b, 100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := checkText(body); err != nil {
			b.Fatal(err)
		}
	}
}
