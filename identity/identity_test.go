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
		// Country domains of consumer brands are free mail.
		{"a@yahoo.com.br", ""},
		{"b@outlook.de", ""},
		{"c@gmx.at", ""},
		{"d@yandex.ru", ""},
		{"e@yahoo.com.ar", ""},
		{"f@hotmail.com.tr", ""},
		// Companies whose domain starts with a word that is also a mail brand keep it.
		{"ann@orange.com", "orange.com"},
		{"q@o2.com", "o2.com"},
		{"x@web.dev", "web.dev"},
		{"z@free.ai", "free.ai"},
		{"r@proton.ch", "proton.ch"},
		{"bob@mail.acme.com", "mail.acme.com"},
		{"h@outlook.acme.com", "outlook.acme.com"},
		{"i@gmail.example.org", "gmail.example.org"},
		{"j@yahoo.co.uk.example.com", "yahoo.co.uk.example.com"},
	}
	for _, tt := range tests {
		if got := CompanyDomain(tt.email); got != tt.want {
			t.Errorf("CompanyDomain(%q) = %q, want %q", tt.email, got, tt.want)
		}
	}
}

func TestIsFreeMail(t *testing.T) {
	tests := []struct {
		domain string
		want   bool
	}{
		{"gmail.com", true},
		{"GMail.com.", true},
		{"yahoo.co.uk", true},
		{"hotmail.fr", true},
		{"outlook.de", true},
		{"gmx.at", true},
		{"yandex.ru", true},
		{"web.de", true},
		{"orange.fr", true},
		{"orange.com", false},
		{"o2.com", false},
		{"web.dev", false},
		{"free.ai", false},
		{"proton.ch", false},
		{"mail.acme.com", false},
		{"gmail", false},
		{"gmail.c", false},
		{"gmail.co.uk.evil", false},
		{"gmail.c0m", false},
	}
	for _, tt := range tests {
		if got := IsFreeMail(tt.domain); got != tt.want {
			t.Errorf("IsFreeMail(%q) = %v, want %v", tt.domain, got, tt.want)
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
