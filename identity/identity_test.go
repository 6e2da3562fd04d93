package identity

import "testing"

func TestEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{" Alice@Acme.TEST ", "alice@acme.test", true},
		{"bob@example.co.uk", "bob@example.co.uk", true},
		{"no-at-sign", "", false},
		{"a@localhost", "", false},
		{"Alice <alice@acme.test>", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Email(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Email(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCompanyDomain(t *testing.T) {
	tests := []struct{ email, want string }{
		{"alice@acme.test", "acme.test"},
		{"carol@gmail.com", ""},
		{"dan@yahoo.co.uk", ""},
		{"eve@hotmail.fr", ""},
		{"frank@mailinator.com", ""},
		{"gina@sub.globex.com", "sub.globex.com"},
	}
	for _, tt := range tests {
		if got := CompanyDomain(tt.email); got != tt.want {
			t.Errorf("CompanyDomain(%q) = %q, want %q", tt.email, got, tt.want)
		}
	}
}

func TestDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://www.acme.com/about", "acme.com"},
		{"acme.com", "acme.com"},
		{"WWW.Globex.COM", "globex.com"},
		{"not a site", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Domain(tt.in); got != tt.want {
			t.Errorf("Domain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
