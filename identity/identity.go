// Package identity says who an address or a website belongs to: it normalizes email
// addresses and finds the company domain behind them, leaving out free-mail providers,
// whose users are not colleagues.
package identity

import (
	"net/mail"
	"net/url"
	"strings"
)

// Email returns the normalized form of an email address (trimmed, lower-cased) and
// whether it is a plausible address at all.
func Email(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 254 || strings.ContainsAny(s, " <>,;\"") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") {
		return "", false
	}
	return s, true
}

// CompanyDomain returns the domain of a normalized email address when it names a company,
// and "" for free-mail and disposable providers.
func CompanyDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	d := email[at+1:]
	if IsFreeMail(d) {
		return ""
	}
	return d
}

// IsFreeMail reports whether domain belongs to a free or disposable mail provider.
func IsFreeMail(domain string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if freeMail[domain] {
		return true
	}
	// Providers with a domain per country: yahoo.com.ar, gmx.at, ... A company may well
	// live at outlook.acme.com or gmail.example.org, so the brand counts only when what
	// follows it is a public suffix, not a domain of its own.
	brand, suffix, ok := strings.Cut(domain, ".")
	return ok && freeMailBrands[brand] && isPublicSuffix(suffix)
}

// isPublicSuffix reports whether s looks like a country or generic public suffix such
// as "fr", "com" or "co.uk": one or two labels, each of two or three letters.
func isPublicSuffix(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) > 2 {
		return false
	}
	for _, l := range labels {
		if len(l) < 2 || len(l) > 3 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz") != "" {
			return false
		}
	}
	return true
}

// Domain returns the bare host of a website given as a URL or a host name
// ("https://www.acme.com/about" → "acme.com"), or "".
func Domain(site string) string {
	site = strings.ToLower(strings.TrimSpace(site))
	if site == "" {
		return ""
	}
	if !strings.Contains(site, "://") {
		site = "http://" + site
	}
	u, err := url.Parse(site)
	if err != nil || u.Hostname() == "" || !strings.Contains(u.Hostname(), ".") {
		return ""
	}
	return strings.TrimPrefix(u.Hostname(), "www.")
}
