package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Notifier delivers one message over one paging channel: an SMS or a voice
// call through a provider's HTTP API, a WeCom or DingTalk group robot, an
// email. Each integration lives in a folder of its own under alerts/notify
// (alertmanager's notify/<integration> layout). A failure is an *Error that
// says whether trying again can help.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}

// Message is one page to one address, already rendered in the recipient's
// language.
type Message struct {
	// Key identifies the page (the outbox row): providers that take an
	// idempotency or out-id get it, so a retry after a lost answer is not
	// a second page.
	Key     string
	AlertID int64
	// To is the address on the channel: a mobile number for SMS and voice,
	// an email address; "" for a group robot, whose webhook is the address.
	To string
	// Subject is a short first line (email subject, robot title).
	Subject string
	// Text is the whole message, the acknowledge link included.
	Text string
	// Link is the one-time acknowledge link alone.
	Link string
	// Params are the template parameters SMS and voice providers take
	// (their templates are approved in advance): lift, address, kind, link.
	Params map[string]string
}

// Error is a failed delivery.
type Error struct {
	Channel   string
	Status    int  // the provider's HTTP status, 0 if none
	Retryable bool // whether trying again can help
	Err       error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: status %d: %v", e.Channel, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Channel, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable says whether a Notify error is worth a retry: an *Error says so
// itself; a network error or a timeout is; anything else is not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var ne *Error
	if errors.As(err, &ne) {
		return ne.Retryable
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return false
}
