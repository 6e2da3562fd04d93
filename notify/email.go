package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/mail"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// The TLS modes of an SMTP connection.
const (
	// TLSNone sends in the clear, credentials too.
	TLSNone = "none"
	// TLSStartTLS upgrades the connection with STARTTLS and refuses servers that do
	// not offer it, so that a man in the middle cannot remove it and read the password.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS).
	TLSImplicit = "tls"
)

// SMTP is how to reach a mail server, and whom mail comes from. It is a value; Send
// opens a connection of its own on each call, so an SMTP is safe for concurrent use.
type SMTP struct {
	Host string
	Port int
	// Username and Password, when Username is set, authenticate with PLAIN or LOGIN
	// over TLS, and without TLS with a challenge-response mechanism if the server has
	// one, else with PLAIN or LOGIN in the clear.
	Username, Password string
	// From is the sender address, optionally with a name: "Tandem <tandem@example.com>".
	From string
	// TLS is TLSNone, TLSStartTLS or TLSImplicit; empty means TLSStartTLS.
	TLS string
	// Timeout bounds each step of the conversation with the server; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// ParseSMTP returns the SMTP of a URL of the form
//
//	smtp://user:password@host:port?tls=none|starttls|tls
//	smtps://user:password@host:port
//
// sending as from. Both user and password, or neither, may be given; they are
// percent-encoded as in any URL. tls defaults to starttls for smtp and is tls for smtps.
// The port defaults to 465 for tls, 587 (submission) for starttls, and 25 for none.
// Errors say what is wrong without repeating the password.
func ParseSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// A *url.Error would repeat the whole URL, password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("SMTP URL: %v", err)
	}
	s := &SMTP{Host: u.Hostname(), From: from}
	switch u.Scheme {
	case "smtp":
		s.TLS = TLSStartTLS
	case "smtps":
		s.TLS = TLSImplicit
	default:
		return nil, fmt.Errorf("SMTP URL: want scheme smtp or smtps, got %q", u.Scheme)
	}
	if u.Opaque != "" || s.Host == "" {
		return nil, errors.New("SMTP URL: no host; want smtp://host or smtp://user:password@host:port")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("SMTP URL: unexpected path %q", u.Path)
	}
	if u.Fragment != "" {
		return nil, errors.New("SMTP URL: unexpected fragment")
	}
	q := u.Query()
	for k, v := range q {
		if k != "tls" {
			return nil, fmt.Errorf("SMTP URL: unknown parameter %q; the only one is tls", k)
		}
		if len(v) > 1 {
			return nil, errors.New("SMTP URL: tls given more than once")
		}
	}
	if q.Has("tls") {
		switch t := q.Get("tls"); {
		case t != TLSNone && t != TLSStartTLS && t != TLSImplicit:
			return nil, fmt.Errorf("SMTP URL: tls=%q; want none, starttls or tls", t)
		case u.Scheme == "smtps" && t != TLSImplicit:
			return nil, fmt.Errorf("SMTP URL: smtps always uses TLS; use smtp:// for tls=%s", t)
		default:
			s.TLS = t
		}
	}
	switch p := u.Port(); {
	case p != "":
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("SMTP URL: port %s: want 1 to 65535", p)
		}
		s.Port = n
	case s.TLS == TLSImplicit:
		s.Port = 465
	case s.TLS == TLSStartTLS:
		s.Port = 587
	default:
		s.Port = 25
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
		if s.Username == "" || s.Password == "" {
			return nil, errors.New("SMTP URL: want both user and password, or neither")
		}
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("from address %q: %v", from, err)
	}
	return s, nil
}

// emailHTML is the HTML alternative of an email. html/template escapes the event's
// text for HTML and refuses links that are not http(s), mailto or relative.
var emailHTML = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p><strong>{{.Title}}</strong></p>
{{- with .Lines}}
<p>{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{- end}}
{{- with .URL}}
<p><a href="{{.}}">Open in Tandem</a></p>
{{- end}}
</body></html>
`))

// Send makes one attempt to email ev to the addresses to, all in one message: its
// subject is ev.Title, its body ev.Text and ev.URL in plain text with an HTML
// alternative. The header X-Tandem-Event carries ev.Type, and the Message-ID is made
// from ev.ID and the sender's domain, the same on every attempt, so that a retry is
// recognisable (and some mailboxes drop it as a duplicate).
//
// Send succeeds when the server accepts the message for every recipient; one refused
// recipient fails it for all, as nothing is sent. A 4xx reply, a lost connection or a
// timeout may be retried; a 5xx reply, such as a refused recipient or failed
// authentication, and an address that does not parse, may not. ctx bounds the whole
// attempt, and each step of it is bounded by s.Timeout.
func (s *SMTP) Send(ctx context.Context, to []string, ev Event) Result {
	msg, err := s.message(to, ev)
	if err != nil {
		return Result{Err: err}
	}
	c, stop, err := s.client(ctx)
	if err != nil {
		return Result{Err: err}
	}
	start := time.Now()
	err = c.DialAndSendWithContext(ctx, msg)
	stop()
	r := Result{Duration: time.Since(start)}
	if err == nil {
		r.Status = 250
		r.Response = clip("250 " + msg.ServerResponse())
		return r
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	r.Err = err
	r.Status, r.Retry = smtpOutcome(err)
	if r.Status != 0 {
		r.Response = clip(err.Error())
	}
	return r
}

// message builds the email of ev to the addresses to.
func (s *SMTP) message(to []string, ev Event) (*gomail.Msg, error) {
	if len(to) == 0 {
		return nil, errors.New("no recipients")
	}
	for _, a := range to {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("recipient %q: %v", a, err)
		}
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("from address %q: %v", s.From, err)
	}
	if ev.ID == "" {
		return nil, errors.New("event has no id")
	}
	subject := strings.Join(strings.Fields(ev.Title), " ")
	if subject == "" {
		subject = ev.Type
	}
	var text []string
	for _, p := range []string{strings.TrimSpace(ev.Text), ev.URL} {
		if p != "" {
			text = append(text, p)
		}
	}
	if len(text) == 0 {
		text = append(text, subject)
	}
	var html strings.Builder
	err = emailHTML.Execute(&html, struct {
		Title string
		Lines []string
		URL   string
	}{subject, lines(ev.Text), ev.URL})
	if err != nil {
		return nil, fmt.Errorf("email HTML: %w", err)
	}

	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.From(s.From); err != nil {
		return nil, fmt.Errorf("from address %q: %w", s.From, err)
	}
	if err := m.To(to...); err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	m.Subject(subject)
	m.SetMessageIDWithValue(messageID(ev.ID, from.Address))
	m.SetGenHeader("X-Tandem-Event", ev.Type)
	// RFC 3834: no out-of-office replies to a machine.
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, strings.Join(text, "\n\n")+"\n")
	m.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return m, nil
}

// lines splits text into its lines, without the blank ones at either end.
func lines(text string) []string {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// messageID returns the Message-ID (without angle brackets) of the email of event id
// sent from address from: the id, with any byte that may not appear there written as
// =XX, at the sender's domain.
func messageID(id, from string) string {
	var b strings.Builder
	for i := range len(id) {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	domain := "tandem.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return b.String() + "@" + domain
}

// client returns a go-mail client for s that dials under ctx, and a stop function to
// call when done. The connection is dialed here rather than by go-mail so that
// cancelling ctx also ends a conversation under way, not only the dial.
func (s *SMTP) client(ctx context.Context) (*gomail.Client, func(), error) {
	if s.Host == "" {
		return nil, nil, errors.New("SMTP has no host")
	}
	if s.Port < 1 || s.Port > 65535 {
		return nil, nil, fmt.Errorf("SMTP port %d: want 1 to 65535", s.Port)
	}
	mode := s.TLS
	if mode == "" {
		mode = TLSStartTLS
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	stop := func() {}
	// go-mail dials under a context of its own that ends with the dial; the
	// connection must close when the caller's ctx ends.
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if mode == TLSImplicit {
			td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}}
			conn, err = td.DialContext(dialCtx, network, addr)
		} else {
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		after := context.AfterFunc(ctx, func() { conn.Close() })
		stop = func() { after() }
		return conn, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(s.Port),
		gomail.WithTimeout(timeout),
		gomail.WithDialContextFunc(dial),
	}
	// With implicit TLS the connection is already encrypted when go-mail gets it.
	secure := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
	switch mode {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		secure = []gomail.SMTPAuthType{gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
			gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, nil, fmt.Errorf("SMTP TLS %q: want none, starttls or tls", s.TLS)
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(secure...),
			gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("SMTP client: %w", err)
	}
	return c, func() { stop() }, nil
}

// smtpOutcome returns the SMTP reply code of a failed send, 0 when there was none, and
// whether trying again may succeed: after a 4xx reply or a failure without a reply,
// which is most often the network's, but not after a 5xx reply or a message the client
// itself could not form.
func smtpOutcome(err error) (code int, retry bool) {
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch code := se.ErrorCode(); {
		case code >= 500:
			return code, false
		case code >= 400:
			return code, true
		}
		switch se.Reason {
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			return 0, false
		}
		return 0, true
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, te.Code < 500
	}
	return 0, true
}
