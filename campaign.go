package tandem

import (
	"context"
	"time"
)

// CampaignChannels are the channels a campaign runs in.
var CampaignChannels = []string{"email", "paid_search", "paid_social", "social", "event", "webinar", "content", "referral", "direct", "display", "other"}

// Campaign is a marketing effort whose touches on people are recognised from their
// events: page views tagged with its UTM campaign (in Segment's context.campaign or the
// page URL), a track event it names, or membership of its list.
type Campaign struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Channel  string     `json:"channel"`
	Cost     float64    `json:"cost"`
	Currency string     `json:"currency"`
	Start    *time.Time `json:"starts_at"`
	End      *time.Time `json:"ends_at"`
	// UTMCampaign matches utm_campaign (case-insensitive); UTMSource and UTMMedium,
	// when set, must match too.
	UTMCampaign string `json:"utm_campaign"`
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	// TrackEvent, when set, is a track event that touches whoever sends it.
	TrackEvent string    `json:"track_event,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// CampaignTouch is one touch of a campaign on a contact.
type CampaignTouch struct {
	CampaignID int64     `json:"campaign_id"`
	Campaign   string    `json:"campaign"`
	Channel    string    `json:"channel"`
	At         time.Time `json:"at"`
	// How is "utm", "event" or "member".
	How string `json:"how"`
}

// CampaignService keeps campaigns and finds their touches.
type CampaignService interface {
	CreateCampaign(ctx context.Context, c *Campaign) (*Campaign, error)
	Campaigns(ctx context.Context) ([]*Campaign, error)
	AddCampaignMembers(ctx context.Context, campaignID int64, contacts []int64) error
	// ContactTouches lists the campaign touches of a contact, oldest first.
	ContactTouches(ctx context.Context, contactID int64) ([]CampaignTouch, error)
}
