// Package notify delivers alert changes to receivers: webhooks (JSON,
// HMAC-signed, retried with backoff) and Prometheus Alertmanager. Receivers
// are data, routed by estate, severity and escalation tier; every delivery
// is logged with its outcome. Each receiver has its own queue and worker, so
// one that is down delays neither detection nor the others.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Receiver is one destination.
type Receiver struct {
	Name string `json:"name" yaml:"name"`
	// Type is "webhook" or "alertmanager".
	Type   string `json:"type" yaml:"type"`
	URL    string `json:"url" yaml:"url"`
	Secret string `json:"secret" yaml:"secret"` // HMAC-SHA256 key for webhooks
	// Estates limits the receiver to these estates (empty: all).
	Estates []string `json:"estates" yaml:"estates"`
	// MinSeverity is the least severity sent (default warning).
	MinSeverity string `json:"min_severity" yaml:"min_severity"`
	// Tier: the receiver gets an alert once it has reached this escalation
	// tier (1 maintainer, 2 property company and duty desk, 3 emergency
	// advice; default 1).
	Tier int `json:"tier" yaml:"tier"`
	// MaxAttempts bounds retries of one notification (0: the default, 6;
	// negative is refused).
	MaxAttempts int `json:"max_attempts" yaml:"max_attempts"`
	// Timeout of one HTTP attempt (0: the default, 5s; negative is refused).
	Timeout time.Duration `json:"timeout" yaml:"timeout"`
	// Types limits the receiver to these alert types (empty: every type,
	// but an alertmanager receiver gets no supervision notices unless an
	// entry names them). An entry is a type ("entrapment",
	// "fault.overspeed") or, ending in a dot, every type it starts
	// ("fault.", "supervision.").
	Types []string `json:"types" yaml:"types"`
	// ExcludeTypes are left out even if Types has them (same entries).
	ExcludeTypes []string `json:"exclude_types" yaml:"exclude_types"`
	// PublicURL is the web app's address as people reach it, for the links
	// in what the receiver is sent (Alertmanager's generatorURL); empty:
	// the dispatcher's (Options.PublicURL).
	PublicURL string `json:"public_url" yaml:"public_url"`
}

// Validate says precisely what is wrong with a receiver: every problem, not
// only the first, each "receiver NAME: KEY …" (errors.Join). It fills the
// defaults of zero values; a negative max_attempts or timeout is refused.
func (r *Receiver) Validate() error {
	if r.Name == "" {
		return errors.New("receiver: name is required")
	}
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("receiver %s: "+format, append([]any{r.Name}, a...)...))
	}
	if r.Type == "" {
		r.Type = "webhook"
	}
	if r.Type != "webhook" && r.Type != "alertmanager" {
		bad("type %q: want webhook or alertmanager", r.Type)
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url %q: want http(s)://host/path", r.URL)
	}
	if r.MinSeverity == "" {
		r.MinSeverity = "warning"
	}
	if _, ok := telemetry.ParseSeverity(r.MinSeverity); !ok {
		bad("min_severity %q: want warning, minor, major or critical", r.MinSeverity)
	}
	if r.Tier == 0 {
		r.Tier = 1
	}
	if r.Tier < 1 || r.Tier > 3 {
		bad("tier %d: want 1, 2 or 3", r.Tier)
	}
	switch {
	case r.MaxAttempts < 0:
		bad("max_attempts %d: must not be negative (0 or unset: 6)", r.MaxAttempts)
	case r.MaxAttempts == 0:
		r.MaxAttempts = 6
	}
	for _, f := range []struct {
		key     string
		entries []string
	}{{"types", r.Types}, {"exclude_types", r.ExcludeTypes}} {
		for _, e := range f.entries {
			if err := checkTypeEntry(e); err != nil {
				bad("%s[%s]: %v", f.key, e, err)
			}
		}
	}
	if r.PublicURL != "" {
		if u, err := url.Parse(r.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public_url %q: want http(s)://host[:port][/path], the web app's address as people reach it", r.PublicURL)
		}
	}
	switch {
	case r.Timeout < 0:
		bad("timeout %v: must not be negative (0 or unset: 5s)", r.Timeout)
	case r.Timeout == 0:
		r.Timeout = 5 * time.Second
	}
	return errors.Join(errs...)
}

func (r *Receiver) matches(a *alerts.Alert) bool {
	min, _ := telemetry.ParseSeverity(r.MinSeverity)
	return a.Severity >= min && a.Tier >= r.Tier && (len(r.Estates) == 0 || slices.Contains(r.Estates, a.Estate)) && r.takesType(a.Type)
}

// Record is one line of the notification log.
type Record struct {
	ID         int64     `json:"id"`
	AlertID    int64     `json:"alert_id"`
	Receiver   string    `json:"receiver"`
	Event      string    `json:"event"`
	Tier       int       `json:"tier"`
	At         time.Time `json:"at"`
	Attempts   int       `json:"attempts"`
	Outcome    string    `json:"outcome"` // delivered, failed, dropped
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error,omitempty"`
	Retryable  bool      `json:"retryable"` // whether retrying could have helped the last failure
}

// Query selects lines of the notification log, newest first.
type Query struct {
	AlertIDs []int64  // of any of these alerts (none: every alert)
	Lifts    []string // of alerts of any of these lifts (none: every lift)
	BeforeID int64    // lines with a smaller id (a page's cursor); 0: from the newest
	Limit    int      // at most this many; 0: all
}

// Log keeps the notification log.
type Log interface {
	LogNotification(ctx context.Context, r *Record) error
}

// notified are the changes people are told about.
var notified = map[string]bool{"opened": true, "escalated": true, "renotified": true, "acknowledged": true,
	"dispatched": true, "arrived": true, "resolved": true, "unsilenced": true}

// Payload is the JSON body of a webhook.
type Payload struct {
	Event  string        `json:"event"`
	Tier   int           `json:"tier"`
	Note   string        `json:"note,omitempty"`
	SentAt time.Time     `json:"sent_at"`
	Alert  *alerts.Alert `json:"alert"`
	// Severity repeats the alert's severity as text.
	Severity string `json:"severity"`
}

// Dispatcher routes changes to receivers.
type Dispatcher struct {
	receivers []*worker
	log       Log
	logger    *slog.Logger
	client    *http.Client
	clock     func() time.Time
	wg        sync.WaitGroup
	backoff   time.Duration
	onResult  func(Record)
	outcomes  *prometheus.CounterVec
	publicURL string
	place     func(lift string) (Place, bool)
	dutyPhone func(lift string) string
	ended     endedAlerts // kept only with an alertmanager receiver (hasAM)
	hasAM     bool
}

// job is a change to deliver, or a resend of firing alerts to an
// alertmanager receiver (done is closed once it is posted or given up).
type job struct {
	change alerts.Change
	resend []*alerts.Alert
	done   chan struct{}
}

type worker struct {
	r     Receiver
	queue chan job
}

// Options tune a dispatcher.
type Options struct {
	Log    Log
	Logger *slog.Logger
	Client *http.Client
	Clock  func() time.Time
	// Backoff is the first retry delay, doubled each attempt (default 500ms).
	Backoff time.Duration
	// QueueSize bounds each receiver's queue (default 1000).
	QueueSize int
	// OnResult, if set, is told every outcome (delivered, failed, dropped)
	// after it is logged, never from within Handle's caller: the engine
	// records it on the alert.
	OnResult func(Record)
	// Registerer takes liftwatch_notifications_total{receiver,outcome}
	// (nil: not registered).
	Registerer prometheus.Registerer
	// PublicURL is the web app's address as people reach it, for links to
	// an alert's page (default DefaultPublicURL); a receiver's public_url
	// overrides it.
	PublicURL string
	// Place says where a lift is (nil, or false for a lift: Alertmanager's
	// annotations go without address and unit).
	Place func(lift string) (Place, bool)
	// DutyPhone is the duty phone of the lift's contractor (nil, or "":
	// the annotation is left out).
	DutyPhone func(lift string) string
}

// DefaultPublicURL is the web app's address when none is configured: the
// service's default listen address.
const DefaultPublicURL = "http://127.0.0.1:8080"

// New validates receivers and makes a dispatcher; Run starts its workers.
func New(receivers []Receiver, o Options) (*Dispatcher, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1000
	}
	if o.PublicURL == "" {
		o.PublicURL = DefaultPublicURL
	}
	d := &Dispatcher{log: o.Log, logger: o.Logger, client: o.Client, clock: o.Clock, backoff: o.Backoff, onResult: o.OnResult,
		publicURL: o.PublicURL, place: o.Place, dutyPhone: o.DutyPhone,
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_notifications_total",
			Help: "Notifications by receiver and outcome: delivered, failed (after its attempts, or not retryable) or dropped (the receiver's queue was full); each is also in GET /api/v1/notifications and on its alert."},
			[]string{"receiver", "outcome"})}
	if o.Registerer != nil {
		if err := o.Registerer.Register(d.outcomes); err != nil {
			return nil, fmt.Errorf("notify metrics: %w", err)
		}
	}
	seen := map[string]bool{}
	for _, r := range receivers {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("receiver %s: duplicate name", r.Name)
		}
		seen[r.Name] = true
		d.receivers = append(d.receivers, &worker{r: r, queue: make(chan job, o.QueueSize)})
		d.hasAM = d.hasAM || r.Type == "alertmanager"
	}
	return d, nil
}

// Receivers is how many receivers are configured.
func (d *Dispatcher) Receivers() int { return len(d.receivers) }

// Recipients names the receivers that Handle sends a change of a to, as a
// stands now (its tier, severity and estate); none for a suppressed alert.
func (d *Dispatcher) Recipients(a *alerts.Alert) []string {
	if a.Suppressed != "" {
		return nil
	}
	var out []string
	for _, w := range d.receivers {
		if w.r.matches(a) {
			out = append(out, w.r.Name)
		}
	}
	return out
}

// Handle is the engine listener: it enqueues the change for every matching
// receiver without blocking; a full queue drops it, and the drop is logged.
func (d *Dispatcher) Handle(c alerts.Change) {
	if d.hasAM && c.Alert.State == alerts.StateResolved {
		d.ended.add(c.Alert.ID, d.clock())
	}
	if c.Alert.Suppressed != "" || !notified[c.Event.Action] {
		return
	}
	for _, w := range d.receivers {
		if !w.r.matches(c.Alert) {
			continue
		}
		select {
		case w.queue <- job{change: c}:
		default:
			rec := &Record{AlertID: c.Alert.ID, Receiver: w.r.Name, Event: c.Event.Action, Tier: c.Alert.Tier, At: d.clock(),
				Outcome: "dropped", Error: "receiver queue full", Retryable: true}
			d.logRecord(rec)
			if d.onResult != nil {
				go d.onResult(*rec) // Handle runs inside the engine's lock
			}
		}
	}
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	for _, w := range d.receivers {
		d.wg.Add(1)
		go func() { defer d.wg.Done(); d.work(ctx, w) }()
	}
	<-ctx.Done()
	d.wg.Wait()
	return nil
}

func (d *Dispatcher) work(ctx context.Context, w *worker) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-w.queue:
			if j.done != nil {
				d.resend(ctx, w.r, j.resend)
				close(j.done)
				continue
			}
			d.deliver(ctx, w.r, j.change)
		}
	}
}

// attemptError is one failed attempt and whether retrying can help.
type attemptError struct {
	status    int
	retryable bool
	err       error
}

func (d *Dispatcher) deliver(ctx context.Context, r Receiver, c alerts.Change) {
	rec := &Record{AlertID: c.Alert.ID, Receiver: r.Name, Event: c.Event.Action, Tier: c.Alert.Tier}
	wait := d.backoff
	for attempt := 1; ; attempt++ {
		rec.Attempts = attempt
		ae := d.send(ctx, r, c)
		if ae == nil {
			rec.Outcome, rec.StatusCode, rec.Error, rec.Retryable = "delivered", 0, "", false
			break
		}
		rec.StatusCode, rec.Error, rec.Retryable = ae.status, ae.err.Error(), ae.retryable
		if !ae.retryable || attempt >= r.MaxAttempts {
			rec.Outcome = "failed"
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			rec.Outcome = "failed"
			rec.Error += " (shutting down)"
			rec.At = d.clock()
			d.record(rec)
			return
		case <-t.C:
		}
		wait = min(wait*2, 30*time.Second)
	}
	rec.At = d.clock()
	d.record(rec)
}

func (d *Dispatcher) record(rec *Record) {
	d.logRecord(rec)
	if d.onResult != nil {
		d.onResult(*rec)
	}
}

func (d *Dispatcher) logRecord(rec *Record) {
	d.outcomes.WithLabelValues(rec.Receiver, rec.Outcome).Inc()
	if rec.Outcome != "delivered" {
		d.logger.Warn("notification not delivered", "receiver", rec.Receiver, "alert", rec.AlertID, "event", rec.Event,
			"outcome", rec.Outcome, "attempts", rec.Attempts, "retryable", rec.Retryable, "err", rec.Error)
	}
	if d.log != nil {
		if err := d.log.LogNotification(context.Background(), rec); err != nil {
			d.logger.Error("notification log failed", "err", err)
		}
	}
}

// Sign returns the signature header value of body sent at ts with secret:
// "sha256=" and the hex HMAC-SHA256 of "<ts>.<body>".
func Sign(secret string, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (d *Dispatcher) send(ctx context.Context, r Receiver, c alerts.Change) *attemptError {
	var body []byte
	var err error
	target := r.URL
	if r.Type == "alertmanager" {
		body, err = json.Marshal([]amAlert{d.toAM(r, c.Alert)})
		target = strings.TrimSuffix(r.URL, "/") + "/api/v2/alerts"
	} else {
		body, err = json.Marshal(Payload{Event: c.Event.Action, Tier: c.Alert.Tier, Note: c.Event.Note, SentAt: d.clock().UTC(),
			Alert: c.Alert, Severity: c.Alert.Severity.String()})
	}
	if err != nil {
		return &attemptError{err: fmt.Errorf("encode: %w", err)}
	}
	return d.post(ctx, r, target, body, c.Event.Action)
}

func (d *Dispatcher) post(ctx context.Context, r Receiver, target string, body []byte, event string) *attemptError {
	actx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return &attemptError{err: err}
	}
	ts := strconv.FormatInt(d.clock().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "liftwatch")
	req.Header.Set("X-Liftwatch-Event", event)
	req.Header.Set("X-Liftwatch-Timestamp", ts)
	if r.Secret != "" {
		req.Header.Set("X-Liftwatch-Signature", Sign(r.Secret, ts, body))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return &attemptError{retryable: true, err: fmt.Errorf("post %s: %w", r.Name, err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return &attemptError{status: resp.StatusCode, retryable: true, err: fmt.Errorf("%s answered %s", r.Name, resp.Status)}
	default:
		return &attemptError{status: resp.StatusCode, retryable: false, err: fmt.Errorf("%s refused: %s (retrying cannot help)", r.Name, resp.Status)}
	}
}
