package paging

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// DemoGateway is the demo's simulated paging gateway (channel type demo):
// a notify.Notifier that accepts every message and keeps the newest in
// memory, as a provider's console would, for GET /demo/outbox and the
// phone inbox.
type DemoGateway struct {
	Channel string
	now     func() time.Time
	max     int
	mu      sync.Mutex
	msgs    []DemoMessage
}

// DemoMessage is one message the gateway accepted.
type DemoMessage struct {
	Key     string    `json:"-"`
	AlertID int64     `json:"alert_id"`
	Channel string    `json:"channel"`
	To      string    `json:"to"`
	Subject string    `json:"-"`
	Text    string    `json:"text"`
	Link    string    `json:"link"`
	At      time.Time `json:"at"`
}

// NewDemoGateway keeps the newest max messages (0: 1000).
func NewDemoGateway(channel string, now func() time.Time, max int) *DemoGateway {
	if max <= 0 {
		max = 1000
	}
	if now == nil {
		now = time.Now
	}
	return &DemoGateway{Channel: channel, now: now, max: max}
}

// Notify accepts a message.
func (g *DemoGateway) Notify(_ context.Context, m notify.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.msgs) >= g.max {
		g.msgs = append(g.msgs[:0:0], g.msgs[len(g.msgs)-g.max+1:]...)
	}
	g.msgs = append(g.msgs, DemoMessage{Key: m.Key, AlertID: m.AlertID, Channel: g.Channel, To: m.To, Subject: m.Subject, Text: m.Text,
		Link: m.Link, At: g.now()})
	return nil
}

// Messages lists the messages accepted, oldest first.
func (g *DemoGateway) Messages() []DemoMessage {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]DemoMessage(nil), g.msgs...)
}

// OutboxEntry is a message of GET /demo/outbox, with its page's state now.
type OutboxEntry struct {
	DemoMessage
	State  State  `json:"state"`
	Person string `json:"person,omitempty"`
	Role   string `json:"role,omitempty"`
	User   string `json:"-"`
	Lift   string `json:"lift,omitempty"`
}

// Outbox lists the gateway's messages, newest first, with their pages'
// states (what the pager knows of them now).
func (p *Pager) Outbox(ctx context.Context, g *DemoGateway) ([]OutboxEntry, error) {
	msgs := g.Messages()
	out := make([]OutboxEntry, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		e := OutboxEntry{DemoMessage: msgs[i], State: Delivered}
		r, err := p.PageByKey(ctx, e.Key)
		if err != nil {
			return nil, err
		}
		if r != nil {
			e.State, e.Person, e.Role, e.User, e.Lift = r.State, r.PersonName, r.Role, r.User, r.Lift
		}
		out = append(out, e)
	}
	return out, nil
}

// OutboxHandler serves GET /demo/outbox: every message the demo's gateway
// accepted, as JSON.
func (p *Pager) OutboxHandler(g *DemoGateway) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := p.Outbox(r.Context(), g)
		if err != nil {
			p.log.Error("demo outbox", "err", err)
			http.Error(w, "cannot list the outbox now", http.StatusInternalServerError)
			return
		}
		writeJSON(w, list)
	})
}

// InboxHandler serves GET /demo/inbox: the messages sent to the signed-in
// user (user gives the request's account name), as a phone would show
// them, with their links.
func (p *Pager) InboxHandler(g *DemoGateway, user func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := user(r)
		list, err := p.Outbox(r.Context(), g)
		if err != nil {
			p.log.Error("demo inbox", "err", err)
			http.Error(w, "cannot list the inbox now", http.StatusInternalServerError)
			return
		}
		mine := []OutboxEntry{}
		for _, e := range list {
			if me != "" && e.User == me {
				mine = append(mine, e)
			}
		}
		writeJSON(w, map[string]any{"user": me, "messages": mine})
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
