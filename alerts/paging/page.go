// Package paging is the dispatcher of pages to people (Alertmanager's
// dispatcher, for persons rather than receivers): it listens to the alert
// engine's changes and pages the on-call chain of each rescue and critical
// alert, person after person, over each person's contacts in order, until
// someone acknowledges.
//
// Delivery is kept like telemetry: every page is a row of an SQL outbox,
// written before it is sent, retried with backoff while the failure is
// retryable, failed over to the person's next contact, then to the next
// person; a worker sends the due rows and, on start, resumes those left
// pending or sending (sent again with the same idempotency key). The
// escalation progress of each alert (who was paged, who is next and when)
// is persisted too, so a restart continues the chain.
//
// Every page carries a one-time link (<public-url>/k/<token>, the token
// stored hashed) that acknowledges the alert as the person paged. A rescue
// page that reached nobody is itself an alert (paging_failed) on the lift.
package paging

import (
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/oncall"
)

// State is where a page is.
type State string

// Page states. A page is pending until the worker takes it, sending while
// a provider has it, then delivered or failed; a delivered page whose link
// was used is acknowledged; a page not sent because the alert was
// acknowledged or resolved first is expired.
const (
	Pending      State = "pending"
	Sending      State = "sending"
	Delivered    State = "delivered"
	Failed       State = "failed"
	Acknowledged State = "acknowledged"
	Expired      State = "expired"
)

// TypePagingFailed is the alert raised on a lift when a page of its rescue
// or critical alert reached nobody.
const TypePagingFailed = "paging_failed"

// Page is one page to one address of one person: a row of the outbox.
type Page struct {
	ID      int64
	AlertID int64
	Lift    string
	Tier    int
	// The person paged (a copy: the roster may change since).
	PersonID   string
	PersonName string
	Role       string
	User       string
	Lang       string
	// Contact is the index of the contact in the person's list.
	Contact int
	Channel string
	To      string
	Subject string
	// Text is the rendered message, its link shown without the token
	// (the token is a secret: only its hash is kept).
	Text string
	// Params are the template parameters (lift, address, kind, at, …).
	Params    map[string]string
	State     State
	Attempts  int
	NextAt    time.Time
	LastError string
	Retryable bool
	// Key is the idempotency key the providers get (Message.Key): a page
	// sent again after a restart is the same page.
	Key string
	// TokenHash is the hex SHA-256 of the link's token; TokenExpires when
	// it stops working; TokenSpent when it was used (nil: not yet).
	TokenHash    string
	TokenExpires time.Time
	TokenSpent   *time.Time

	CreatedAt   time.Time
	SentAt      *time.Time // the last attempt's start
	DeliveredAt *time.Time
	AckAt       *time.Time
	AckBy       string
	UpdatedAt   time.Time
}

// Target is one person of an alert's chain and how far paging them went.
type Target struct {
	Person oncall.Person `json:"person"`
	Tier   int           `json:"tier"`
	// Started: the person's first page was made.
	Started bool `json:"started,omitempty"`
	// Exhausted: every contact of the person failed.
	Exhausted bool `json:"exhausted,omitempty"`
	// Reached: a page to the person was delivered.
	Reached bool `json:"reached,omitempty"`
}

// Chain is the paging progress of one alert, persisted so that a restart
// continues it.
type Chain struct {
	AlertID    int64
	Lift       string
	Estate     string
	Contractor string
	Type       string
	Tier       int
	People     []Target
	// NextAt is when the next person of the chain is paged if nobody has
	// acknowledged (zero: nobody left to page on the clock).
	NextAt time.Time
	// Done: acknowledged or resolved: no more pages.
	Done bool
	// Failed: the chain reached nobody and paging_failed was raised; new
	// people (an escalation) may still be reached.
	Failed    bool
	UpdatedAt time.Time
}

// View is a page as people see it (GET /api/v1/alerts/{id}/pages): the
// address masked.
type View struct {
	ID          int64      `json:"id"`
	AlertID     int64      `json:"alert_id"`
	Tier        int        `json:"tier"`
	Person      string     `json:"person"`
	Role        string     `json:"role"`
	Channel     string     `json:"channel"`
	To          string     `json:"to"`
	State       State      `json:"state"`
	Attempts    int        `json:"attempts"`
	Error       string     `json:"error,omitempty"`
	Retryable   bool       `json:"retryable,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	AckAt       *time.Time `json:"acknowledged_at,omitempty"`
	AckBy       string     `json:"acknowledged_by,omitempty"`
}

// View is the page as people see it.
func (p *Page) View() View {
	return View{ID: p.ID, AlertID: p.AlertID, Tier: p.Tier, Person: p.PersonName, Role: p.Role, Channel: p.Channel,
		To: Mask(p.To), State: p.State, Attempts: p.Attempts, Error: p.LastError, Retryable: p.Retryable,
		CreatedAt: p.CreatedAt, SentAt: p.SentAt, DeliveredAt: p.DeliveredAt, AckAt: p.AckAt, AckBy: p.AckBy}
}

// Mask hides the middle of an address: a mobile number keeps its first
// three and last four digits (138****0001), an email its first letter and
// domain.
func Mask(to string) string {
	if to == "" {
		return ""
	}
	if user, domain, ok := strings.Cut(to, "@"); ok {
		r := []rune(user)
		if len(r) == 0 {
			return "***@" + domain
		}
		return string(r[0]) + "***@" + domain
	}
	r := []rune(to)
	if len(r) <= 7 {
		if len(r) <= 2 {
			return strings.Repeat("*", len(r))
		}
		return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
	}
	return string(r[:len(r)-8]) + "****" + string(r[len(r)-4:])
}
