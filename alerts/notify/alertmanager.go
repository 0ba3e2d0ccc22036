package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
)

// Place is where a lift is, as a person sent to it needs it.
type Place struct {
	Address    string // street address
	EstateName string // the estate (小区) as residents know it
	Unit       string // building and stairwell unit, e.g. "12号2单元"
}

// amAlert is Alertmanager's API v2 alert.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// amFiringFor is how long Alertmanager holds a firing alert that is not
// posted again; ResendFiring posts every minute.
const amFiringFor = 5 * time.Minute

// toAM is one liftwatch alert as Alertmanager's alert. Alertmanager tells
// alerts apart by their labels, so the labels are what never changes in an
// alert's life (its id, type, lift, estate and severity): one liftwatch
// alert is one Alertmanager alert from opening to resolve. What changes
// (its state and escalation tier) and what people need on the way (where
// the lift is, whom to call) are annotations.
func (d *Dispatcher) toAM(r Receiver, a *alerts.Alert) amAlert {
	am := amAlert{
		Labels: map[string]string{"alertname": "liftwatch_" + strings.ReplaceAll(a.Type, ".", "_"),
			"alert_id": strconv.FormatInt(a.ID, 10), "lift": a.Lift, "estate": a.Estate, "severity": a.Severity.String()},
		Annotations: map[string]string{"summary": a.Summary, "state": string(a.State), "tier": strconv.Itoa(a.Tier),
			"type": a.Type},
		StartsAt:     a.OpenedAt.UTC(),
		GeneratorURL: d.alertURL(r, a),
	}
	if d.place != nil {
		if p, ok := d.place(a.Lift); ok {
			setNonEmpty(am.Annotations, "address", p.Address)
			setNonEmpty(am.Annotations, "estate_name", p.EstateName)
			setNonEmpty(am.Annotations, "unit", p.Unit)
		}
	}
	if d.dutyPhone != nil {
		setNonEmpty(am.Annotations, "duty_phone", d.dutyPhone(a.Lift))
	}
	if a.AckBy != "" {
		am.Annotations["acknowledged_by"] = a.AckBy
	}
	now := d.clock()
	if a.State == alerts.StateResolved {
		am.EndsAt = now.UTC()
	} else {
		am.EndsAt = now.Add(amFiringFor).UTC() // refreshed while firing
	}
	return am
}

func setNonEmpty(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// alertURL is the alert's page in the web app: its lift's page, naming the
// alert.
func (d *Dispatcher) alertURL(r Receiver, a *alerts.Alert) string {
	base := r.PublicURL
	if base == "" {
		base = d.publicURL
	}
	return strings.TrimSuffix(base, "/") + "/lifts/" + url.PathEscape(a.Lift) + "?alert=" + strconv.FormatInt(a.ID, 10)
}

// ResendFiring posts every open, unsuppressed alert to the Alertmanager
// receivers, which Alertmanager needs while alerts fire. The posts go
// through each receiver's queue, after the changes already in it, and an
// alert resolved since open was listed is left out: a list taken just
// before a resolve never makes the resolved alert fire again. It returns
// once every receiver has posted (or given up), or when ctx ends.
func (d *Dispatcher) ResendFiring(ctx context.Context, open []*alerts.Alert) {
	var pending []chan struct{}
	for _, w := range d.receivers {
		if w.r.Type != "alertmanager" {
			continue
		}
		var batch []*alerts.Alert
		for _, a := range open {
			if a.Suppressed == "" && w.r.matches(a) {
				batch = append(batch, a)
			}
		}
		if len(batch) == 0 {
			continue
		}
		done := make(chan struct{})
		select {
		case w.queue <- job{resend: batch, done: done}:
			pending = append(pending, done)
		default:
			d.logger.Warn("alertmanager resend skipped: the receiver's queue is full", "receiver", w.r.Name, "alerts", len(batch))
		}
	}
	for _, done := range pending {
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
	}
}

// resend posts the alerts of batch that liftwatch has not resolved since.
func (d *Dispatcher) resend(ctx context.Context, r Receiver, batch []*alerts.Alert) {
	now := d.clock()
	d.ended.prune(now.Add(-endedKept))
	var out []amAlert
	for _, a := range batch {
		if !d.ended.has(a.ID) {
			out = append(out, d.toAM(r, a))
		}
	}
	if len(out) == 0 {
		return
	}
	body, err := json.Marshal(out)
	if err != nil {
		d.logger.Error("alertmanager resend: encode", "receiver", r.Name, "err", err)
		return
	}
	if ae := d.post(ctx, r, strings.TrimSuffix(r.URL, "/")+"/api/v2/alerts", body, "firing"); ae != nil {
		d.logger.Warn("alertmanager resend failed", "receiver", r.Name, "err", ae.err)
	}
}

// endedKept is how long a resolved alert is remembered against stale
// resend lists: far longer than a list waits in a receiver's queue.
const endedKept = time.Hour

// endedAlerts are the alerts liftwatch resolved lately, by id, with when.
type endedAlerts struct {
	mu sync.Mutex
	at map[int64]time.Time
}

func (e *endedAlerts) add(id int64, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.at == nil {
		e.at = map[int64]time.Time{}
	}
	e.at[id] = now
}

func (e *endedAlerts) has(id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.at[id]
	return ok
}

// prune forgets the alerts resolved before cutoff.
func (e *endedAlerts) prune(cutoff time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, t := range e.at {
		if t.Before(cutoff) {
			delete(e.at, id)
		}
	}
}

// The alert types a receiver's types and exclude_types may name: these
// exactly, and under these prefixes (a prefix alone, as "fault.", names
// every type under it).
var (
	knownTypes = []string{alerts.TypeEntrapment, alerts.TypeStillReported, alerts.TypeAlarm, alerts.TypeOffline, alerts.TypeOutOfService,
		alerts.TypeLowBattery}
	knownPrefixes = []string{alerts.TypeFaultPrefix, alerts.TypeRepeatPrefix, alerts.TypeSupervisionPrefix}
)

// checkTypeEntry says what is wrong with an entry of types or
// exclude_types.
func checkTypeEntry(e string) error {
	if slices.Contains(knownTypes, e) {
		return nil
	}
	for _, p := range knownPrefixes {
		if strings.HasPrefix(e, p) && !strings.Contains(e[len(p):], ".") {
			return nil
		}
	}
	return fmt.Errorf("not an alert type: want one of %s, or a prefix %s (alone: every type under it, as \"supervision.\")",
		strings.Join(knownTypes, ", "), strings.Join(knownPrefixes, ", "))
}

// typeMatches says whether an entry of types or exclude_types covers typ.
func typeMatches(entry, typ string) bool {
	if strings.HasSuffix(entry, ".") {
		return strings.HasPrefix(typ, entry)
	}
	return entry == typ
}

// takesType says whether the receiver is sent alerts of type typ: those
// its types cover (all if it lists none), but not those its exclude_types
// cover. Supervision notices are the manager's paperwork, not incidents:
// an alertmanager receiver gets them only if its types name them.
func (r *Receiver) takesType(typ string) bool {
	covered := func(entries []string) bool {
		return slices.ContainsFunc(entries, func(e string) bool { return typeMatches(e, typ) })
	}
	switch {
	case len(r.Types) > 0 && !covered(r.Types):
		return false
	case covered(r.ExcludeTypes):
		return false
	case len(r.Types) == 0 && r.Type == "alertmanager" && strings.HasPrefix(typ, alerts.TypeSupervisionPrefix):
		return false
	}
	return true
}
