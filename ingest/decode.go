// Package ingest takes in activity in the format of Segment's HTTP tracking API: it
// decodes and validates messages, corrects their clocks, and commits them durably in
// groups, acknowledging each request only once its messages are on disk.
package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	segjson "github.com/segmentio/encoding/json"

	"tandem"
	"tandem/identity"
)

// Limits of the Segment HTTP tracking API.
const (
	MaxMessageBytes  = 32 << 10
	MaxBatchBytes    = 500 << 10
	MaxBatchMessages = 2500
)

// MessageError says why one message was refused and where it was.
type MessageError struct {
	Index     int    `json:"index"`
	MessageID string `json:"message_id,omitempty"`
	Pointer   string `json:"pointer"`
	Detail    string `json:"detail"`

	// envelope says that Pointer is into the batch's envelope (such as its sentAt)
	// rather than into the message.
	envelope bool
}

func (e *MessageError) Error() string {
	if e.Pointer == "" {
		return e.Detail
	}
	return e.Pointer + ": " + e.Detail
}

// wire is a message as clients send it.
type wire struct {
	Type              string          `json:"type"`
	MessageID         flexString      `json:"messageId"`
	UserID            flexString      `json:"userId"`
	AnonymousID       flexString      `json:"anonymousId"`
	PreviousID        flexString      `json:"previousId"`
	GroupID           flexString      `json:"groupId"`
	Event             string          `json:"event"`
	Name              string          `json:"name"`
	Traits            json.RawMessage `json:"traits"`
	Properties        json.RawMessage `json:"properties"`
	Context           json.RawMessage `json:"context"`
	Timestamp         string          `json:"timestamp"`
	OriginalTimestamp string          `json:"originalTimestamp"`
	SentAt            string          `json:"sentAt"`
	WriteKey          string          `json:"writeKey"`
}

// flexString accepts a JSON string or number, as clients send ids both ways.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	if _, err := strconv.ParseFloat(string(b), 64); err != nil {
		return &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[flexString]()}
	}
	*f = flexString(b)
	return nil
}

func jsonValueKind(b []byte) string {
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "value"
}

// unmarshal decodes b into v with a decoder several times faster than encoding/json,
// which is most of the cost of ingest outside the store. Should it refuse b, b is decoded
// again with encoding/json, whose errors say what and where, and whose verdict stands.
func unmarshal(b []byte, v any) error {
	if err := segjson.Unmarshal(b, v); err != nil {
		return json.Unmarshal(b, v)
	}
	return nil
}

// Envelope is what a request carries besides its messages.
type Envelope struct {
	WriteKey string
	SentAt   string
	Context  json.RawMessage
}

// SyntaxError is a body that is not valid JSON, with where it went wrong.
type SyntaxError struct {
	Line, Column int
	Detail       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at line %d, column %d: %s", e.Line, e.Column, e.Detail)
}

// jsonError turns an encoding/json error into one that says where in body it happened.
func jsonError(body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := position(body, se.Offset-1) // Offset is just past the bad byte
		return &SyntaxError{Line: l, Column: c, Detail: se.Error()}
	case errors.As(err, &te):
		l, c := position(body, te.Offset-1)
		return &SyntaxError{Line: l, Column: c, Detail: fmt.Sprintf("%s must be %s, not %s", fieldName(te.Field), jsonKind(te.Type.String()), te.Value)}
	case errors.Is(err, errEmpty):
		return &SyntaxError{Line: 1, Column: 1, Detail: "the body is empty"}
	}
	l, c := position(body, int64(len(body)))
	return &SyntaxError{Line: l, Column: c, Detail: err.Error()}
}

var errEmpty = errors.New("empty body")

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]") && goType != "[]uint8":
		return "an array"
	case goType == "ingest.flexString":
		return "a string or a number"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "map") || strings.HasPrefix(goType, "struct") || strings.HasPrefix(goType, "ingest."):
		return "an object"
	}
	return goType
}

// position returns the 1-based line and column of the byte at offset in body.
func position(body []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(body)))
	before := body[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// DecodeSingle decodes the body of a single-message endpoint such as /v1/track; typ is
// the endpoint's message type. It returns the message's write key, if the body carries
// one, and the message or the reason it was refused.
func DecodeSingle(body []byte, typ string, sourceID int64, receivedAt time.Time) (string, *tandem.Message, error) {
	if len(body) > MaxMessageBytes {
		return "", nil, tandem.Errorf(tandem.ETooLarge, "the message is %d bytes; at most %d are allowed", len(body), MaxMessageBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil, jsonError(body, errEmpty)
	}
	var w wire
	if err := unmarshal(body, &w); err != nil {
		return "", nil, jsonError(body, err)
	}
	if w.Type == "" {
		w.Type = typ
	}
	if w.Type != typ {
		return w.WriteKey, nil, &MessageError{Pointer: "/type", Detail: fmt.Sprintf("is %q, but this endpoint takes %q", w.Type, typ)}
	}
	m, err := convert(&w, body, Envelope{}, sourceID, receivedAt)
	if err != nil {
		return w.WriteKey, nil, err
	}
	return w.WriteKey, m, nil
}

// Batch is a decoded /v1/batch body: the messages that passed and those refused.
type Batch struct {
	WriteKey string
	Messages []*tandem.Message
	Errors   []*MessageError
}

// DecodeBatch decodes a /v1/batch body. A message that fails validation is reported in
// Errors and does not stop the others; an error return means the body as a whole is bad.
func DecodeBatch(body []byte, sourceID int64, receivedAt time.Time) (*Batch, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, jsonError(body, errEmpty)
	}
	var env struct {
		Batch    []json.RawMessage `json:"batch"`
		SentAt   string            `json:"sentAt"`
		Context  json.RawMessage   `json:"context"`
		WriteKey string            `json:"writeKey"`
	}
	if err := unmarshal(body, &env); err != nil {
		return nil, jsonError(body, err)
	}
	if err := checkText(env.Context); err != nil {
		return nil, tandem.Errorf(tandem.EInvalid, "context: %v", err)
	}
	if env.Batch == nil {
		return nil, &SyntaxError{Line: 1, Column: 1, Detail: `the body has no "batch" array of messages`}
	}
	if len(env.Batch) > MaxBatchMessages {
		return nil, tandem.Errorf(tandem.ETooLarge, "a batch may hold at most %d messages; this one has %d", MaxBatchMessages, len(env.Batch))
	}
	b := &Batch{WriteKey: env.WriteKey, Messages: make([]*tandem.Message, 0, len(env.Batch))}
	e := Envelope{SentAt: env.SentAt, Context: env.Context}
	for i, raw := range env.Batch {
		m, err := decodeOne(raw, e, sourceID, receivedAt)
		if err != nil {
			err.Index = i
			if !err.envelope {
				err.Pointer = "/batch/" + strconv.Itoa(i) + err.Pointer
			}
			b.Errors = append(b.Errors, err)
			continue
		}
		b.Messages = append(b.Messages, m)
	}
	return b, nil
}

func decodeOne(raw []byte, env Envelope, sourceID int64, receivedAt time.Time) (*tandem.Message, *MessageError) {
	if len(raw) > MaxMessageBytes {
		return nil, &MessageError{Detail: fmt.Sprintf("the message is %d bytes; at most %d are allowed", len(raw), MaxMessageBytes)}
	}
	var w wire
	if err := unmarshal(raw, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &MessageError{Pointer: "/" + strings.ReplaceAll(te.Field, ".", "/"), Detail: "must be " + jsonKind(te.Type.String())}
		}
		return nil, &MessageError{Detail: "must be an object: " + err.Error()}
	}
	switch w.Type {
	case tandem.TypeIdentify, tandem.TypeTrack, tandem.TypePage, tandem.TypeScreen, tandem.TypeGroup, tandem.TypeAlias:
	case "":
		return nil, &MessageError{MessageID: string(w.MessageID), Pointer: "/type", Detail: "is required: one of identify, track, page, screen, group, alias"}
	default:
		return nil, &MessageError{MessageID: string(w.MessageID), Pointer: "/type", Detail: fmt.Sprintf("%q is not one of identify, track, page, screen, group, alias", w.Type)}
	}
	return convert(&w, raw, env, sourceID, receivedAt)
}

// convert validates a decoded message and turns it into a tandem.Message.
func convert(w *wire, raw []byte, env Envelope, sourceID int64, receivedAt time.Time) (*tandem.Message, *MessageError) {
	fail := func(ptr, format string, args ...any) (*tandem.Message, *MessageError) {
		return nil, &MessageError{MessageID: string(w.MessageID), Pointer: ptr, Detail: fmt.Sprintf(format, args...)}
	}
	failEnvelope := func(ptr, format string, args ...any) (*tandem.Message, *MessageError) {
		m, err := fail(ptr, format, args...)
		err.envelope = true
		return m, err
	}
	if err := checkText(raw); err != nil {
		return fail("", "the message %v", err)
	}
	m := &tandem.Message{
		SourceID: sourceID, Type: w.Type, MessageID: string(w.MessageID),
		UserID: strings.TrimSpace(string(w.UserID)), AnonymousID: strings.TrimSpace(string(w.AnonymousID)),
		PreviousID: strings.TrimSpace(string(w.PreviousID)), GroupID: strings.TrimSpace(string(w.GroupID)),
		Event: w.Event, Name: w.Name, ReceivedAt: receivedAt,
	}
	for _, f := range []struct{ ptr, v string }{{"/messageId", m.MessageID}, {"/userId", m.UserID}, {"/anonymousId", m.AnonymousID}, {"/previousId", m.PreviousID}, {"/groupId", m.GroupID}} {
		if n := utf8.RuneCountInString(f.v); n > 255 {
			return fail(f.ptr, "is %d characters long; at most 255 are allowed", n)
		}
	}
	if m.MessageID == "" {
		m.MessageID = newMessageID()
	}
	if m.UserID == "" && m.AnonymousID == "" {
		return fail("/userId", "a userId or an anonymousId is required")
	}
	switch m.Type {
	case tandem.TypeTrack:
		if strings.TrimSpace(m.Event) == "" {
			return fail("/event", "is required for a track call")
		}
		if n := utf8.RuneCountInString(m.Event); n > 255 {
			return fail("/event", "is %d characters long; at most 255 are allowed", n)
		}
	case tandem.TypeGroup:
		if m.GroupID == "" {
			return fail("/groupId", "is required for a group call")
		}
	case tandem.TypeAlias:
		if m.PreviousID == "" {
			return fail("/previousId", "is required for an alias call")
		}
		if m.UserID == "" {
			return fail("/userId", "is required for an alias call")
		}
	}
	var err error
	if m.Properties, err = object(w.Properties); err != nil {
		return fail("/properties", "%v", err)
	}
	if isNull(w.Context) {
		if m.Context, err = object(env.Context); err != nil {
			return failEnvelope("/context", "%v", err)
		}
	} else if m.Context, err = object(w.Context); err != nil {
		return fail("/context", "%v", err)
	}
	if t, err := object(w.Traits); err != nil {
		return fail("/traits", "%v", err)
	} else if len(t) > 2 {
		if err := unmarshal(t, &m.Traits); err != nil {
			return fail("/traits", "%v", err)
		}
	}
	if m.Type == tandem.TypePage || m.Type == tandem.TypeScreen {
		if m.Name == "" {
			m.Name = stringField(m.Properties, "name")
		}
	}
	// The person's email: from an identify's traits, or from context.traits on any call.
	if m.Type != tandem.TypeGroup {
		email, _ := m.Traits["email"].(string)
		if email == "" && bytes.Contains(m.Context, []byte(`"traits"`)) {
			var c struct {
				Traits struct {
					Email string `json:"email"`
				} `json:"traits"`
			}
			_ = unmarshal(m.Context, &c)
			email = c.Traits.Email
		}
		if e, ok := identity.Email(email); ok {
			m.Email = e
		}
	}
	if m.Timestamp, m.ClientTimestamp, err = eventTime(w, env, receivedAt); err != nil {
		var te *timeError
		if errors.As(err, &te) {
			if te.envelope {
				return failEnvelope("/"+te.field, "%v", te.err)
			}
			return fail("/"+te.field, "%v", te.err)
		}
		return fail("/timestamp", "%v", err)
	}
	return m, nil
}

// checkText refuses JSON text that encoding/json and SQLite take but PostgreSQL cannot
// store as jsonb or text: invalid UTF-8, the escape \u0000, and a UTF-16 surrogate
// escape that is not half of a high-low pair. raw must be valid JSON, so that every
// backslash starts an escape. It runs on every message, so it jumps from backslash to
// backslash and allocates only to say what is wrong.
func checkText(raw []byte) error {
	if !utf8.Valid(raw) {
		return errors.New("is not valid UTF-8")
	}
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			break
		}
		i += j
		r, ok := unicodeEscape(raw[i:])
		switch {
		case !ok:
			i += 2 // \", \\, \n and the like: the escaped byte does not start an escape
			continue
		case r == 0:
			return errors.New(`contains a NUL character (\u0000), which cannot be stored`)
		case utf16.IsSurrogate(r) && r < 0xdc00:
			if lo, ok := unicodeEscape(raw[i+6:]); ok && utf16.IsSurrogate(lo) && lo >= 0xdc00 {
				i += 12
				continue
			}
			return fmt.Errorf("contains an unpaired UTF-16 surrogate (%s), which cannot be stored", raw[i:i+6])
		case utf16.IsSurrogate(r):
			return fmt.Errorf("contains an unpaired UTF-16 surrogate (%s), which cannot be stored", raw[i:i+6])
		}
		i += 6
	}
	return nil
}

// unicodeEscape returns the UTF-16 code unit of the escape that b starts with, if b
// starts with a backslash, a u and four hex digits.
func unicodeEscape(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func object(raw json.RawMessage) (json.RawMessage, error) {
	if isNull(raw) {
		return json.RawMessage("{}"), nil
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] != '{' {
		return nil, errors.New("must be an object")
	}
	return raw, nil
}

func stringField(obj json.RawMessage, key string) string {
	if !bytes.Contains(obj, []byte(`"`+key+`"`)) {
		return ""
	}
	var m map[string]any
	_ = unmarshal(obj, &m)
	s, _ := m[key].(string)
	return s
}

type timeError struct {
	field    string
	envelope bool // field is the batch envelope's, not the message's
	err      error
}

func (e *timeError) Error() string { return e.field + ": " + e.err.Error() }

// eventTime corrects the client's timestamp for the skew of its clock the way Segment
// does: when the client says when it sent the message, the event happened
// (sentAt - timestamp) before the server received it. It also returns the timestamp as
// the client gave it.
func eventTime(w *wire, env Envelope, receivedAt time.Time) (corrected, given time.Time, err error) {
	field, ts := "timestamp", w.Timestamp
	if ts == "" {
		field, ts = "originalTimestamp", w.OriginalTimestamp
	}
	if ts == "" {
		return receivedAt, time.Time{}, nil
	}
	t, err := parseTime(ts)
	if err != nil {
		return time.Time{}, time.Time{}, &timeError{field: field, err: err}
	}
	sent, fromEnvelope := w.SentAt, false
	if sent == "" {
		sent, fromEnvelope = env.SentAt, true
	}
	if sent == "" {
		return t.UTC(), t.UTC(), nil
	}
	s, err := parseTime(sent)
	if err != nil {
		return time.Time{}, time.Time{}, &timeError{"sentAt", fromEnvelope, err}
	}
	return receivedAt.Add(-s.Sub(t)).UTC(), t.UTC(), nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date and time", s)
}

func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "tandem-" + hex.EncodeToString(b[:])
}
