package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tandem/internal/mailpittest"
	"tandem/notify"
)

func TestParseSMTP(t *testing.T) {
	const from = "Tandem <tandem@example.com>"
	tests := []struct {
		name    string
		url     string
		want    notify.SMTP
		wantErr string // empty: no error
	}{
		{name: "starttls on submission by default", url: "smtp://mail.example.com",
			want: notify.SMTP{Host: "mail.example.com", Port: 587, TLS: "starttls"}},
		{name: "no TLS on port 25", url: "smtp://mail.example.com?tls=none",
			want: notify.SMTP{Host: "mail.example.com", Port: 25, TLS: "none"}},
		{name: "smtps", url: "smtps://mail.example.com",
			want: notify.SMTP{Host: "mail.example.com", Port: 465, TLS: "tls"}},
		{name: "tls parameter", url: "smtp://mail.example.com?tls=tls",
			want: notify.SMTP{Host: "mail.example.com", Port: 465, TLS: "tls"}},
		{name: "smtps with tls=tls", url: "smtps://mail.example.com:4650?tls=tls",
			want: notify.SMTP{Host: "mail.example.com", Port: 4650, TLS: "tls"}},
		{name: "credentials and port", url: "smtp://apikey:hunter2@smtp.example.com:2525",
			want: notify.SMTP{Host: "smtp.example.com", Port: 2525, Username: "apikey", Password: "hunter2", TLS: "starttls"}},
		{name: "percent-encoded credentials", url: "smtp://me%40example.com:p%3As%2Fw%40rd@mail.example.com/",
			want: notify.SMTP{Host: "mail.example.com", Port: 587, Username: "me@example.com", Password: "p:s/w@rd", TLS: "starttls"}},
		{name: "IPv6", url: "smtp://[::1]:1025?tls=none",
			want: notify.SMTP{Host: "::1", Port: 1025, TLS: "none"}},

		{name: "other scheme", url: "http://mail.example.com", wantErr: `want scheme smtp or smtps, got "http"`},
		{name: "no scheme", url: "mail.example.com:25", wantErr: "want scheme smtp or smtps"},
		{name: "no host", url: "smtp://", wantErr: "no host"},
		{name: "no host but a port", url: "smtp://:25", wantErr: "no host"},
		{name: "opaque", url: "smtp:mail.example.com", wantErr: "no host"},
		{name: "port 0", url: "smtp://mail.example.com:0", wantErr: "port 0: want 1 to 65535"},
		{name: "port too big", url: "smtp://mail.example.com:65536", wantErr: "port 65536"},
		{name: "port not a number", url: "smtp://apikey:hunter2@mail.example.com:smtp", wantErr: "invalid port"},
		{name: "unknown tls", url: "smtp://mail.example.com?tls=yes", wantErr: `tls="yes"; want none, starttls or tls`},
		{name: "smtps without TLS", url: "smtps://mail.example.com?tls=none", wantErr: "smtps always uses TLS"},
		{name: "misspelt parameter", url: "smtp://mail.example.com?tsl=none", wantErr: `unknown parameter "tsl"`},
		{name: "tls twice", url: "smtp://mail.example.com?tls=none&tls=tls", wantErr: "more than once"},
		{name: "user without password", url: "smtp://apikey@mail.example.com", wantErr: "both user and password"},
		{name: "password without user", url: "smtp://:hunter2@mail.example.com", wantErr: "both user and password"},
		{name: "path", url: "smtp://mail.example.com/relay", wantErr: `unexpected path "/relay"`},
		{name: "does not parse", url: "smtp://apikey:hunter2@mail example.com", wantErr: "SMTP URL: invalid character"},
		{name: "bad escape", url: "smtp://apikey:hunter2%zz@mail.example.com", wantErr: "SMTP URL: invalid URL escape"},
		{name: "bad from", url: "smtp://mail.example.com?from=x", wantErr: "unknown parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := notify.ParseSMTP(tt.url, from)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			tt.want.From = from
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}

	if _, err := notify.ParseSMTP("smtp://mail.example.com", "not an address"); err == nil ||
		!strings.Contains(err.Error(), `from address "not an address"`) {
		t.Errorf("bad from: got error %v", err)
	}
}

// mustSMTP returns the SMTP of a Mailpit, authenticating as user when it is not empty.
func mustSMTP(tb testing.TB, mp *mailpittest.Server, user string) *notify.SMTP {
	tb.Helper()
	creds := ""
	if user != "" {
		creds = user + ":secret@"
	}
	s, err := notify.ParseSMTP("smtp://"+creds+mp.SMTPAddr+"?tls=none", "Tandem <tandem@example.com>")
	if err != nil {
		tb.Fatal(err)
	}
	s.Timeout = 10 * time.Second
	return s
}

func TestSend(t *testing.T) {
	mp := mailpittest.Start(t)
	ev := lead()
	ev.Title = `New lead: <script>alert("x")</script> & Co`
	ev.Text = "Ada <ada@example.com>\nScore 90 & rising"
	ev.URL = "https://tandem.example.com/contacts/42?tab=activity&from=email"

	r := mustSMTP(t, mp, "tandem").Send(context.Background(), []string{"bob@example.com", "Eve Manager <eve@example.com>"}, ev)
	if r.Err != nil || r.Status != 250 || r.Retry || !strings.HasPrefix(r.Response, "250 ") {
		t.Fatalf("got %+v, want 250 accepted", r)
	}

	list := mp.Messages(t)
	if len(list) != 1 {
		t.Fatalf("got %d messages, want 1", len(list))
	}
	m := mp.Message(t, list[0].ID)
	if m.Subject != ev.Title {
		t.Errorf("got subject %q, want %q", m.Subject, ev.Title)
	}
	if m.From.Address != "tandem@example.com" || m.From.Name != "Tandem" {
		t.Errorf("got from %+v, want Tandem <tandem@example.com>", m.From)
	}
	if len(m.To) != 2 || m.To[0].Address != "bob@example.com" || m.To[1].Address != "eve@example.com" || m.To[1].Name != "Eve Manager" {
		t.Errorf("got to %+v, want bob and Eve Manager", m.To)
	}
	if m.Username != "tandem" {
		t.Errorf("got SMTP user %q, want tandem", m.Username)
	}
	if m.MessageID != "msg_2KcLeadAssigned42@example.com" {
		t.Errorf("got Message-ID %q, want one made of the event id", m.MessageID)
	}
	wantText := ev.Text + "\n\n" + ev.URL
	if got := strings.TrimSpace(strings.ReplaceAll(m.Text, "\r\n", "\n")); got != wantText {
		t.Errorf("got text body %q, want %q", m.Text, wantText)
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co",
		"Ada &lt;ada@example.com&gt;<br>Score 90 &amp; rising",
		`<a href="https://tandem.example.com/contacts/42?tab=activity&amp;from=email">`,
	} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, m.HTML)
		}
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Errorf("HTML body has an unescaped <script>:\n%s", m.HTML)
	}

	h := mp.Headers(t, m.ID)
	for k, want := range map[string]string{
		"X-Tandem-Event": "lead.assigned",
		"Auto-Submitted": "auto-generated",
		"Message-Id":     "<msg_2KcLeadAssigned42@example.com>",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s: got %q, want %q", k, got, want)
		}
	}

	// A retry of the same event has the same Message-ID.
	if r := mustSMTP(t, mp, "").Send(context.Background(), []string{"bob@example.com"}, ev); r.Err != nil {
		t.Fatal(r.Err)
	}
	list = mp.Messages(t)
	if len(list) != 2 || list[0].MessageID != list[1].MessageID || list[0].Username != "" {
		t.Errorf("got %+v, want a second message with the same Message-ID, sent without AUTH", list)
	}
}

func TestSendRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		flags      []string
		to         []string
		wantStatus int
		wantRetry  bool
	}{
		{name: "recipient refused", flags: []string{"--smtp-allowed-recipients", `@example\.com$`},
			to: []string{"bob@example.com", "bob@elsewhere.test"}, wantStatus: 550},
		{name: "recipient refused for now", flags: []string{"--enable-chaos", "--chaos-triggers", "Recipient:451:100"},
			to: []string{"bob@example.com"}, wantStatus: 451, wantRetry: true},
		{name: "sender refused", flags: []string{"--enable-chaos", "--chaos-triggers", "Sender:553:100"},
			to: []string{"bob@example.com"}, wantStatus: 553},
		{name: "authentication refused", flags: []string{"--enable-chaos", "--chaos-triggers", "Authentication:535:100"},
			to: []string{"bob@example.com"}, wantStatus: 535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mp := mailpittest.Start(t, tt.flags...)
			r := mustSMTP(t, mp, "tandem").Send(context.Background(), tt.to, lead())
			if r.Status != tt.wantStatus || r.Retry != tt.wantRetry || r.Err == nil {
				t.Errorf("got %+v, want status %d, retry %v", r, tt.wantStatus, tt.wantRetry)
			}
			if !strings.Contains(r.Response, strconv.Itoa(tt.wantStatus)) {
				t.Errorf("got response %q, want the server's reply", r.Response)
			}
			if n := len(mp.Messages(t)); n != 0 {
				t.Errorf("got %d messages, want none", n)
			}
		})
	}
}

func TestSendStartTLSRequired(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t)
	s := mustSMTP(t, mp, "tandem")
	s.TLS = notify.TLSStartTLS
	r := s.Send(context.Background(), []string{"bob@example.com"}, lead())
	if r.Err == nil || !strings.Contains(r.Err.Error(), "STARTTLS") {
		t.Errorf("got %+v, want an error about STARTTLS", r)
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Errorf("got %d messages, want none sent in the clear", n)
	}
}

func TestSendUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	s := &notify.SMTP{Host: "127.0.0.1", Port: addr.Port, From: "tandem@example.com", TLS: notify.TLSNone}
	r := s.Send(context.Background(), []string{"bob@example.com"}, lead())
	if r.Status != 0 || !r.Retry || r.Err == nil {
		t.Errorf("got %+v, want a connection error to retry", r)
	}

	// A server that accepts the connection and says nothing: ctx ends the attempt.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s.Port = l.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r = s.Send(ctx, []string{"bob@example.com"}, lead())
	if !r.Retry || !errors.Is(r.Err, context.DeadlineExceeded) || r.Duration > 5*time.Second {
		t.Errorf("got %+v, want the deadline to end the attempt, to retry", r)
	}
}

func TestSendRefuses(t *testing.T) {
	good := notify.SMTP{Host: "127.0.0.1", Port: 1, From: "tandem@example.com", TLS: notify.TLSNone}
	noID := lead()
	noID.ID = ""
	tests := []struct {
		name string
		smtp notify.SMTP
		to   []string
		ev   notify.Event
		want string
	}{
		{"no recipients", good, nil, lead(), "no recipients"},
		{"bad recipient", good, []string{"bob@example.com", "bob"}, lead(), `recipient "bob"`},
		{"header injection", good, []string{"bob@example.com\r\nBcc: eve@example.com"}, lead(), "recipient"},
		{"no event id", good, []string{"bob@example.com"}, noID, "no id"},
		{"bad from", notify.SMTP{Host: "127.0.0.1", Port: 1, From: "tandem"}, []string{"bob@example.com"}, lead(), "from address"},
		{"no host", notify.SMTP{Port: 25, From: "tandem@example.com"}, []string{"bob@example.com"}, lead(), "no host"},
		{"bad port", notify.SMTP{Host: "x", From: "tandem@example.com"}, []string{"bob@example.com"}, lead(), "port 0"},
		{"bad TLS", notify.SMTP{Host: "x", Port: 25, From: "tandem@example.com", TLS: "ssl"}, []string{"bob@example.com"}, lead(), `TLS "ssl"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.smtp.Send(context.Background(), tt.to, tt.ev)
			if r.Retry || r.Status != 0 || r.Err == nil || !strings.Contains(r.Err.Error(), tt.want) {
				t.Errorf("got %+v, want an error containing %q, not to retry", r, tt.want)
			}
		})
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key into dir.
func writeCert(tb testing.TB, dir string) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return certFile, keyFile
}

// TestSendVerifiesCertificates shows that both TLS modes encrypt, and that they refuse a
// server whose certificate no authority signed.
func TestSendVerifiesCertificates(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{notify.TLSStartTLS, notify.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cert, key := writeCert(t, t.TempDir())
			flags := []string{"--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls"}
			if mode == notify.TLSImplicit {
				flags[4] = "--smtp-require-tls"
			}
			mp := mailpittest.Start(t, flags...)
			s := mustSMTP(t, mp, "tandem")
			s.TLS = mode
			r := s.Send(context.Background(), []string{"bob@example.com"}, lead())
			var unknown x509.UnknownAuthorityError
			if !errors.As(r.Err, &unknown) {
				t.Errorf("got %+v, want an unknown authority error", r)
			}
			if n := len(mp.Messages(t)); n != 0 {
				t.Errorf("got %d messages, want none", n)
			}
		})
	}
}
