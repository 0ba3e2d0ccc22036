package main

import (
	"context"
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

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/identity"
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
	historyMonths int
	paperShare    float64
	contractors   bool
}

func (d *demoOptions) register(fs *flag.FlagSet) {
	fs.DurationVar(&d.incidentAfter, "demo.incident-after", 3*time.Minute, "play one entrapment this long after the backfill ends and the simulation runs live; 0: none")
	fs.StringVar(&d.incidentLift, "demo.incident-lift", "JW-0042", "the lift of that entrapment")
	fs.IntVar(&d.historyMonths, "demo.history-months", 3, "first write this many simulated months of maintenance history (plans, work orders, compliance, the fund), ending where the simulation starts; 0: none")
	fs.Float64Var(&d.paperShare, "demo.paper-share", 0.1, "share of routine visits the simulated contractors sign without doing them (paper visits, flagged unverified): 0..1")
	fs.BoolVar(&d.contractors, "demo.contractors", true, "run simulated contractors that work the due work orders through the API with API tokens once the simulation is live (the simulator's own random technician visits are then off); only at --sim.speed 1")
	fs.IntVar(&d.holdAt, "broker.hold-at", embedded.DefaultHoldAt, "the embedded broker holds publishers back while liftwatch has this many messages unacknowledged (flow control: nothing is dropped)")
}

func (d *demoOptions) validate(cfg simulator.Config) error {
	if d.incidentAfter < 0 {
		return fmt.Errorf("demo.incident-after %v must not be negative (0 disables the incident)", d.incidentAfter)
	}
	if d.historyMonths < 0 || d.historyMonths > 24 {
		return fmt.Errorf("demo.history-months %d: want 0…24", d.historyMonths)
	}
	if d.paperShare < 0 || d.paperShare > 1 {
		return fmt.Errorf("demo.paper-share %v: want 0…1", d.paperShare)
	}
	if d.holdAt < 1 || d.holdAt > embedded.MaxInflight-4096 {
		return fmt.Errorf("broker.hold-at %d: want 1…%d", d.holdAt, embedded.MaxInflight-4096)
	}
	if d.incidentAfter > 0 && !slices.ContainsFunc(cfg.Lifts, func(l registry.Lift) bool { return l.ID == d.incidentLift }) {
		return fmt.Errorf("demo.incident-lift %q is not a simulated lift", d.incidentLift)
	}
	return nil
}

// announce is the startup lines about the incident and the trigger. The
// incident's time is not known yet: it follows the end of the backfill.
func (d *demoOptions) announce(httpAddr string) string {
	var b strings.Builder
	if d.incidentAfter > 0 {
		fmt.Fprintf(&b, "Incident: an entrapment will be played on %s about %v after the backfill ends (--demo.incident-after 0: none).\n",
			d.incidentLift, d.incidentAfter)
	}
	fmt.Fprintf(&b, "Trap someone yourself (signed in, e.g. as demo-manager):  curl -b jar -H 'X-CSRF-Token: <csrf_token>' -X POST 'http://%s/demo/trigger?lift=JW-0042&kind=entrapment'\n", httpAddr)
	return b.String()
}

// openAlerts lists the alerts open now (the alert engine).
type openAlerts interface {
	Open() []*alerts.Alert
}

// narrate tells the user when the backfill is over and the simulation runs
// live, and then plays the incident, if any: incidentAfter later it traps a
// passenger in incidentLift, says so, and once the service has raised the
// alert, points to it.
func (d *demoOptions) narrate(ctx context.Context, ds *demoSim, eng openAlerts, httpAddr string, stdout io.Writer, log *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-ds.ready:
	}
	select {
	case <-ctx.Done():
		return
	case <-ds.ended:
		return // never live (--sim.speed 0, or the simulation ended in its backfill)
	case <-ds.sim.Live():
	}
	fmt.Fprintf(stdout, "Backfill done: the simulation is live from %s (simulated time).\n", ds.sim.LiveAt().Format(time.RFC3339))
	if d.incidentAfter <= 0 {
		return
	}
	t := time.NewTimer(d.incidentAfter)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	at, err := ds.sim.Trigger(ctx, d.incidentLift, simulator.TrapExplicit)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("demo incident not played", "lift", d.incidentLift, "err", err)
			fmt.Fprintf(stdout, "Incident: not played on %s: %v\n", d.incidentLift, err)
		}
		return
	}
	fmt.Fprintf(stdout, "Incident: a passenger is trapped in %s now (simulated time %s); waiting for liftwatch to raise the alert.\n",
		d.incidentLift, at.Format(time.RFC3339))
	log.Info("demo incident played", "lift", d.incidentLift, "simulated_time", at)
	a := waitAlert(ctx, eng, d.incidentLift, at, 100*time.Millisecond, func() {
		log.Warn("demo incident: no entrapment alert yet", "lift", d.incidentLift, "simulated_time", at)
	})
	if a == nil {
		return
	}
	fmt.Fprintf(stdout, "Incident: alert %d open, %s in %s (%s); see the open alerts: http://%s/api/v1/alerts?open=true\n",
		a.ID, a.Type, a.Lift, a.Summary, httpAddr)
	fmt.Fprintf(stdout, "Incident: its duty technician is paged (who and how: http://%[1]s/api/v1/alerts/%[2]d/pages); the page, with its acknowledge link, is in http://%[1]s/demo/outbox and in demo-contractor's phone inbox http://%[1]s/inbox\n",
		httpAddr, a.ID)
}

// waitAlert polls eng every interval until an entrapment alert of lift
// covering time at (or later) is open, and returns it; nil if ctx ends
// first. late is called once if that takes more than a minute's polls.
func waitAlert(ctx context.Context, eng openAlerts, lift string, at time.Time, interval time.Duration, late func()) *alerts.Alert {
	at = at.Truncate(time.Millisecond) // messages carry milliseconds
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for polls := 1; ; polls++ {
		for _, a := range eng.Open() {
			if a.Lift == lift && a.Type == alerts.TypeEntrapment && !a.LastSeen.Before(at) {
				return a
			}
		}
		if time.Duration(polls)*interval == time.Minute {
			late()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
	}
}

// demoSim is the demo's running simulator, for its HTTP routes.
type demoSim struct {
	ready chan struct{} // closed once sim is set
	ended chan struct{} // closed when the simulation has ended
	sim   *simulator.Simulator
	sink  *simulator.MQTTSink
	mu    sync.Mutex
	done  bool
}

func (d *demoSim) start(s *simulator.Simulator, sink *simulator.MQTTSink) {
	d.sim, d.sink = s, sink
	close(d.ready)
}

func (d *demoSim) finish() {
	d.mu.Lock()
	d.done = true
	d.mu.Unlock()
	close(d.ended)
}

func (d *demoSim) running() bool {
	select {
	case <-d.ready:
		return true
	default:
		return false
	}
}

// routes adds the demo's endpoints to the service's handler, under the
// API's conventions (errors in its envelope, 405 with Allow).
func (d *demoSim) routes(h interface {
	Handle(string, api.Guard, http.Handler)
}) {
	// Trapping the demo's lift is acting on its alerts: whoever may act
	// on that lift's alerts may play the incident.
	h.Handle("POST /demo/trigger", api.Guard{Action: identity.ActAlert, Object: api.LiftInQuery("lift")}, http.HandlerFunc(d.trigger))
	h.Handle("GET /demo/simulator", api.Guard{Action: identity.ReadLift}, http.HandlerFunc(d.status))
}

// trigger serves POST /demo/trigger?lift=&kind=: the demo's own simulated
// lift is trapped (kind: an entrapment variant) or freed (kind=rescue).
func (d *demoSim) trigger(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, vs := range q {
		switch {
		case k != "lift" && k != "kind":
			api.WriteError(w, http.StatusBadRequest, k, fmt.Sprintf("unknown query parameter %q; allowed: kind, lift", k))
			return
		case len(vs) > 1:
			api.WriteError(w, http.StatusBadRequest, k, fmt.Sprintf("%s is given %d times; give it once", k, len(vs)))
			return
		}
	}
	lift, kind := q.Get("lift"), q.Get("kind")
	if lift == "" {
		api.WriteError(w, http.StatusBadRequest, "lift", "lift is required: the id of a simulated lift, such as JW-0042")
		return
	}
	if kind == "" {
		kind = simulator.TrapExplicit
	}
	if !d.running() {
		api.WriteError(w, http.StatusServiceUnavailable, "", "the simulator is not running yet; try again in a moment")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	at, err := d.sim.Trigger(ctx, lift, kind)
	switch {
	case err == nil:
		api.WriteJSON(w, http.StatusAccepted, map[string]string{"lift": lift, "kind": kind, "simulated_time": at.Format(time.RFC3339)})
	case errors.Is(err, simulator.ErrNotSimulated):
		api.WriteError(w, http.StatusNotFound, "lift", err.Error())
	case errors.Is(err, simulator.ErrTriggerKind):
		api.WriteError(w, http.StatusBadRequest, "kind", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		api.WriteError(w, http.StatusServiceUnavailable, "", err.Error())
	default:
		api.WriteError(w, http.StatusConflict, "", err.Error())
	}
}

// status serves GET /demo/simulator: what the simulator has published so
// far and whether it has finished (--sim.duration).
func (d *demoSim) status(w http.ResponseWriter, _ *http.Request) {
	if !d.running() {
		api.WriteJSON(w, http.StatusOK, map[string]any{"running": false, "done": false})
		return
	}
	d.mu.Lock()
	done := d.done
	d.mu.Unlock()
	c := d.sim.Stats().Snapshot()
	c.Failed += d.sink.Failed()
	api.WriteJSON(w, http.StatusOK, map[string]any{"running": !done, "done": done, "counts": c,
		"published": c.TotalSent(), "republished": d.sink.Retries()})
}
