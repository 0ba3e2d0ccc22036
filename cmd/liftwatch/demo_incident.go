package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/internal/embedded"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
)

// demoOptions are the demo's own settings: the incident it plays and the
// embedded broker's flow control.
type demoOptions struct {
	incidentAfter time.Duration
	incidentLift  string
	holdAt        int
}

func (d *demoOptions) register(fs *flag.FlagSet) {
	fs.DurationVar(&d.incidentAfter, "demo.incident-after", 3*time.Minute, "play one entrapment this long after the demo starts (after the backfill, if that is longer); 0: none")
	fs.StringVar(&d.incidentLift, "demo.incident-lift", "JW-0042", "the lift of that entrapment")
	fs.IntVar(&d.holdAt, "broker.hold-at", embedded.DefaultHoldAt, "the embedded broker holds publishers back while liftwatch has this many messages unacknowledged (flow control: nothing is dropped)")
}

func (d *demoOptions) validate(cfg simulator.Config) error {
	if d.incidentAfter < 0 {
		return fmt.Errorf("demo.incident-after %v must not be negative (0 disables the incident)", d.incidentAfter)
	}
	if d.holdAt < 1 || d.holdAt > embedded.MaxInflight-4096 {
		return fmt.Errorf("broker.hold-at %d: want 1…%d", d.holdAt, embedded.MaxInflight-4096)
	}
	if d.incidentAfter > 0 && !slices.ContainsFunc(cfg.Lifts, func(l registry.Lift) bool { return l.ID == d.incidentLift }) {
		return fmt.Errorf("demo.incident-lift %q is not a simulated lift", d.incidentLift)
	}
	return nil
}

// announce is the startup lines about the incident and the trigger.
func (d *demoOptions) announce(httpAddr string, now time.Time) string {
	var b strings.Builder
	if d.incidentAfter > 0 {
		fmt.Fprintf(&b, "Incident: a passenger gets trapped in %s at %s (in %v; --demo.incident-after 0: none).\n",
			d.incidentLift, now.Add(d.incidentAfter).Format("15:04:05"), d.incidentAfter)
	}
	fmt.Fprintf(&b, "Trap someone yourself:  curl -X POST 'http://%s/demo/trigger?lift=JW-0042&kind=entrapment'\n", httpAddr)
	return b.String()
}

// playIncident triggers the default entrapment once incidentAfter has passed
// and the simulator runs.
func (d *demoOptions) playIncident(ctx context.Context, ds *demoSim, stdout io.Writer, log *slog.Logger) {
	t := time.NewTimer(d.incidentAfter)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	select {
	case <-ctx.Done():
		return
	case <-ds.ready:
	}
	at, err := ds.sim.Trigger(ctx, d.incidentLift, simulator.TrapExplicit)
	if err != nil {
		log.Warn("demo incident not played", "lift", d.incidentLift, "err", err)
		return
	}
	fmt.Fprintf(stdout, "Incident: passenger trapped in %s (simulated time %s); see the open alerts.\n", d.incidentLift, at.Format(time.RFC3339))
}

// demoSim is the demo's running simulator, for its HTTP routes.
type demoSim struct {
	ready chan struct{} // closed once sim is set
	sim   *simulator.Simulator
	sink  *simulator.MQTTSink
	mu    sync.Mutex
	done  bool
}

func (d *demoSim) start(s *simulator.Simulator, sink *simulator.MQTTSink) {
	d.sim, d.sink = s, sink
	close(d.ready)
}

func (d *demoSim) finish() { d.mu.Lock(); d.done = true; d.mu.Unlock() }

func (d *demoSim) running() bool {
	select {
	case <-d.ready:
		return true
	default:
		return false
	}
}

func demoJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// trigger serves POST /demo/trigger?lift=&kind=: the demo's own simulated
// lift is trapped (kind: an entrapment variant) or freed (kind=rescue).
func (d *demoSim) trigger(w http.ResponseWriter, r *http.Request) {
	lift, kind := r.URL.Query().Get("lift"), r.URL.Query().Get("kind")
	if kind == "" {
		kind = simulator.TrapExplicit
	}
	if !d.running() {
		demoJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the simulator is not running yet; try again in a moment"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	at, err := d.sim.Trigger(ctx, lift, kind)
	switch {
	case err == nil:
		demoJSON(w, http.StatusAccepted, map[string]string{"lift": lift, "kind": kind, "simulated_time": at.Format(time.RFC3339)})
	case errors.Is(err, simulator.ErrNotSimulated):
		demoJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, simulator.ErrTriggerKind):
		demoJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case errors.Is(err, context.DeadlineExceeded):
		demoJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	default:
		demoJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	}
}

// status serves GET /demo/simulator: what the simulator has published so
// far and whether it has finished (--sim.duration).
func (d *demoSim) status(w http.ResponseWriter, _ *http.Request) {
	if !d.running() {
		demoJSON(w, http.StatusOK, map[string]any{"running": false, "done": false})
		return
	}
	d.mu.Lock()
	done := d.done
	d.mu.Unlock()
	c := d.sim.Stats().Snapshot()
	c.Failed += d.sink.Failed()
	demoJSON(w, http.StatusOK, map[string]any{"running": !done, "done": done, "counts": c,
		"published": c.TotalSent(), "republished": d.sink.Retries()})
}
