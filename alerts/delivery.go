package alerts

import "fmt"

// Delivery is the outcome of sending one change of an alert to one receiver
// (notify reports it).
type Delivery struct {
	AlertID  int64
	Event    string // the change sent: opened, escalated, …
	Receiver string
	Outcome  string // delivered, failed, dropped
	Attempts int
	Error    string
}

// RecordDelivery writes a delivery outcome on the alert, if it is still open,
// so that its history says who was actually told: every failure or drop
// ("notify_failed"), and successful deliveries ("notified") of the changes
// that summon people (opened, escalated). Every outcome is in the
// notification log as well (GET /api/v1/notifications?alert=ID).
func (e *Engine) RecordDelivery(d Delivery) {
	if d.Outcome == "delivered" && d.Event != "opened" && d.Event != "escalated" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.byID[d.AlertID]
	if a == nil {
		return // resolved since: the notification log has it
	}
	ev := Event{At: e.now(), Actor: "system", Tier: a.Tier}
	if d.Outcome == "delivered" {
		ev.Action = "notified"
		ev.Note = fmt.Sprintf("%s delivered to %s (%s)", d.Event, d.Receiver, attempts(d.Attempts))
	} else {
		ev.Action = "notify_failed"
		ev.Note = fmt.Sprintf("%s NOT delivered to %s: %s", d.Event, d.Receiver, d.Outcome)
		if d.Attempts > 0 {
			ev.Note += " after " + attempts(d.Attempts)
		}
		if d.Error != "" {
			ev.Note += ": " + d.Error
		}
	}
	e.save(a, ev)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}
