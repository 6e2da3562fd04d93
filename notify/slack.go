package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Limits of Slack's Block Kit, in characters.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
)

// slackMessage is the body of an incoming webhook request.
type slackMessage struct {
	// Text is the fallback: Slack shows it in notifications, and Slack-compatible
	// services without blocks show it instead of them.
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type string    `json:"type"`
	Text slackText `json:"text"`
}

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// PostSlack makes one delivery of ev to a Slack incoming webhook at url, or to a
// service that accepts the same requests. The message is ev's Title as a header, then
// its Text and a link to ev.URL when set; text that Slack would read as markup (&, <
// and >) is escaped. It succeeds on any 2xx status; Slack answers 200 "ok", and its
// errors, such as 404 "channel_not_found", are in Response. c and ctx are as for
// PostWebhook. The url is a secret: errors never include it.
func PostSlack(ctx context.Context, c *http.Client, url string, ev Event) Result {
	body, err := json.Marshal(slackPayload(ev))
	if err != nil {
		return fail("slack message: %v", err)
	}
	return post(ctx, c, url, http.Header{"User-Agent": {"Tandem"}}, body)
}

func slackPayload(ev Event) slackMessage {
	title := strings.Join(strings.Fields(ev.Title), " ")
	if title == "" {
		title = ev.Type
	}
	var link string
	if ev.URL != "" {
		// In <url|label> a | or > in the URL would end it early.
		u := strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(ev.URL)
		link = "<" + strings.ReplaceAll(u, "&", "&amp;") + "|Open in Tandem>"
	}
	m := slackMessage{Text: slackEscape(title, slackSectionMax)}
	// plain_text is shown as written: no escaping.
	m.Blocks = append(m.Blocks, slackBlock{Type: "header",
		Text: slackText{Type: "plain_text", Text: truncate(title, slackHeaderMax), Emoji: true}})
	var section []string
	if ev.Text != "" {
		section = append(section, slackEscape(ev.Text, slackSectionMax-utf8.RuneCountInString(link)-2))
	}
	if link != "" {
		section = append(section, link)
	}
	if len(section) > 0 {
		m.Blocks = append(m.Blocks, slackBlock{Type: "section",
			Text: slackText{Type: "mrkdwn", Text: strings.Join(section, "\n\n")}})
	}
	return m
}

// slackEscaper escapes what Slack's text fields read as markup: &, < and >.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes s for a Slack text field of at most max characters, cutting it
// with "…" when it is longer, and never inside an entity.
func slackEscape(s string, max int) string {
	esc := slackEscaper.Replace(s)
	if utf8.RuneCountInString(esc) <= max {
		return esc
	}
	cut := string([]rune(esc)[:max-1])
	// Every & of esc starts an entity.
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	return cut + "…"
}

// truncate keeps s within max characters, ending it with "…" when it cuts.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
