// Package alerts turns each lift's ordered telemetry into alerts that people
// act on, and drives every rescue to a close against the legal clocks.
//
// One alert is open per (lift, type); repeats raise its count and last-seen
// time (ThingsBoard's rule). An alert moves open → acknowledged → dispatched
// → on_site → resolved, each step recorded with who and when. A rescue alert
// (entrapment) closes only when someone on site records that the passengers
// are out; the device clearing its fault never closes it. Other alerts close
// themselves when their condition clears, keeping the record.
//
// Detection is a list of rules (package rule, one file each): the Engine runs
// them on every message (Consume, with the lift's state from liftstate),
// online/offline transition (LiftStateChange) and clock tick (Tick), and owns
// the rest: one alert per (lift, type) and its repeats, the lifecycle, the SLA
// clocks on an injectable clock, suppression (package inhibit for the lift's
// situation, package silence for people's silences), and handing every change
// to the store (write-through, so a restart continues every open alert where
// it was) and to the notifiers and the live stream.
package alerts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/telemetry"
)

// State is where an alert is in its lifecycle.
type State string

// Lifecycle states, in order.
const (
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateDispatched   State = "dispatched"
	StateOnSite       State = "on_site"
	StateResolved     State = "resolved"
)

var stateRank = map[State]int{StateOpen: 0, StateAcknowledged: 1, StateDispatched: 2, StateOnSite: 3, StateResolved: 4}

// Alert types (package rule). Fault alerts are "fault.<code>", repeated
// faults "repeated_fault.<code>".
const (
	TypeEntrapment   = rule.TypeEntrapment
	TypeAlarm        = rule.TypeAlarm
	TypeOffline      = rule.TypeOffline
	TypeOutOfService = rule.TypeOutOfService
	TypeLowBattery   = rule.TypeLowBattery
	TypeFaultPrefix  = rule.TypeFaultPrefix
	TypeRepeatPrefix = rule.TypeRepeatPrefix
)

// Alert is one alert and its record.
type Alert struct {
	ID       int64              `json:"id"`
	Lift     string             `json:"lift"`
	Estate   string             `json:"estate"`
	Type     string             `json:"type"`
	Severity telemetry.Severity `json:"-"`
	Rescue   bool               `json:"rescue"`
	Summary  string             `json:"summary"`
	State    State              `json:"state"`
	// ConditionActive says whether what raised the alert still holds.
	ConditionActive bool `json:"condition_active"`
	// Derived marks an entrapment inferred from raw conditions rather than
	// reported by the terminal.
	Derived bool `json:"derived"`
	// Suppressed names why the alert is recorded but not notified
	// ("inspection", "work_order", "offline", "silence:<id>"); "" if not.
	Suppressed string `json:"suppressed,omitempty"`
	Count      int64  `json:"count"`

	FirstSeen time.Time `json:"first_seen"` // event time of the first occurrence
	LastSeen  time.Time `json:"last_seen"`  // event time of the latest repeat
	OpenedAt  time.Time `json:"opened_at"`  // when liftwatch raised it (its clock)

	AckAt        *time.Time `json:"acknowledged_at,omitempty"`
	AckBy        string     `json:"acknowledged_by,omitempty"`
	DispatchedAt *time.Time `json:"dispatched_at,omitempty"`
	DispatchedTo string     `json:"dispatched_to,omitempty"`
	OnSiteAt     *time.Time `json:"on_site_at,omitempty"`
	OnSiteBy     string     `json:"on_site_by,omitempty"`
	ResolvedAt   *time.Time `json:"resolved_at,omitempty"`
	ResolvedBy   string     `json:"resolved_by,omitempty"`

	// Tier is the escalation level reached: 1 maintainer, 2 property
	// company and subdistrict duty desk, 3 emergency services advice.
	Tier int `json:"tier"`
	// LastNotified is when the alert was last notified (for re-notifying
	// unacknowledged critical alerts).
	LastNotified time.Time `json:"last_notified"`

	// Evidence are the (boot, seq) of the newest fault and alarm messages
	// counted on the alert (at most EvidenceKept), persisted with it: a
	// message delivered again after a restart, whose change was written
	// before it, is recognised and not counted twice.
	Evidence []MessageKey `json:"-"`

	History []Event `json:"history,omitempty"`

	// Version counts the changes of the alert's record (its events, each
	// change one): a person acting on what they saw sends it back, and a
	// change in between makes the action stale (StaleError), not a silent
	// overwrite. The store derives it from the record's length.
	Version int64 `json:"version"`
}

// MessageKey is one of a lift's messages: its boot and sequence number.
type MessageKey struct{ Boot, Seq int64 }

// EvidenceKept bounds Alert.Evidence. A redelivery after a restart is of
// messages not yet acked, a few batches at most; an alert with more new
// evidence than this among them would count the oldest once more.
const EvidenceKept = 32

// HasEvidence says whether the message k is counted on the alert already.
func (a *Alert) HasEvidence(k MessageKey) bool {
	for _, e := range a.Evidence {
		if e == k {
			return true
		}
	}
	return false
}

// addEvidence records k, dropping the oldest beyond EvidenceKept.
func (a *Alert) addEvidence(k MessageKey) {
	if len(a.Evidence) >= EvidenceKept {
		a.Evidence = append(a.Evidence[:0:0], a.Evidence[len(a.Evidence)-EvidenceKept+1:]...)
	}
	a.Evidence = append(a.Evidence, k)
}

// FormatEvidence is the text form of evidence for the store: "boot:seq"
// items separated by spaces.
func FormatEvidence(ev []MessageKey) string {
	var b strings.Builder
	for i, k := range ev {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(k.Boot, 10))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(k.Seq, 10))
	}
	return b.String()
}

// ParseEvidence reads FormatEvidence's text.
func ParseEvidence(s string) ([]MessageKey, error) {
	var out []MessageKey
	for _, f := range strings.Fields(s) {
		b, q, ok := strings.Cut(f, ":")
		boot, err1 := strconv.ParseInt(b, 10, 64)
		seq, err2 := strconv.ParseInt(q, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("alert evidence %q: want boot:seq", f)
		}
		out = append(out, MessageKey{Boot: boot, Seq: seq})
	}
	return out, nil
}

// SeverityName is the severity as text (for JSON and SQL).
func (a *Alert) SeverityName() string { return a.Severity.String() }

// Open reports whether the alert is not resolved.
func (a *Alert) Open() bool { return a.State != StateResolved }

// Clone copies the alert, history included.
func (a *Alert) Clone() *Alert {
	c := *a
	c.History = append([]Event(nil), a.History...)
	c.Evidence = append([]MessageKey(nil), a.Evidence...)
	return &c
}

// Event is one entry of an alert's record.
type Event struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"` // opened, repeated, acknowledged, dispatched, arrived, resolved, comment, escalated, condition_cleared, condition_returned, condition_persists, condition_changed, renotified, suppressed, unsuppressed, notified, notify_failed
	Actor  string    `json:"actor"`
	Note   string    `json:"note,omitempty"`
	Tier   int       `json:"tier,omitempty"`
}

// TransitionError is an action not allowed from the alert's state.
type TransitionError struct {
	Action  string
	Current State
	Reason  string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s an alert that is %s: %s", e.Action, e.Current, e.Reason)
}

// StaleError is an action sent with a version the alert has moved past:
// someone or something changed it since the person loaded it. Current is
// the alert as it is now.
type StaleError struct {
	Want    int64
	Current *Alert
}

func (e *StaleError) Error() string {
	a := e.Current
	msg := fmt.Sprintf("alert %d changed since you loaded it (your version %d, now %d): it is %s", a.ID, e.Want, a.Version, a.State)
	if by := a.LastActor(); by != "" {
		msg += ", last changed by " + by
	}
	return msg + "; reload it and decide again"
}

// LastActor is who made the alert's newest change by a person ("" if the
// record kept in memory has none).
func (a *Alert) LastActor() string {
	for i := len(a.History) - 1; i >= 0; i-- {
		if ev := a.History[i]; ev.Actor != "" && ev.Actor != "system" && ev.Actor != "liftwatch" {
			return ev.Actor
		}
	}
	return ""
}

// NotFoundError is an action on an alert that does not exist.
type NotFoundError struct{ ID int64 }

func (e *NotFoundError) Error() string { return fmt.Sprintf("no alert %d", e.ID) }

// ValidationError is a bad request (missing actor, note, …). Field names
// the request field at fault, if one is.
type ValidationError struct {
	Msg   string
	Field string
}

func (e *ValidationError) Error() string { return e.Msg }

// MarshalJSON adds the severity as text.
func (a Alert) MarshalJSON() ([]byte, error) {
	type plain Alert
	return json.Marshal(struct {
		plain
		Severity string `json:"severity"`
	}{plain(a), a.Severity.String()})
}
