package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// AlertEngine is what the alert endpoints ask of the engine.
type AlertEngine interface {
	Acknowledge(id int64, a alerts.Action) (*alerts.Alert, error)
	Dispatch(id int64, a alerts.Action) (*alerts.Alert, error)
	Arrive(id int64, a alerts.Action) (*alerts.Alert, error)
	Resolve(id int64, a alerts.Action) (*alerts.Alert, error)
	Comment(id int64, a alerts.Action) (*alerts.Alert, error)
	AddSilence(ctx context.Context, s alerts.Silence) (alerts.Silence, error)
	DeleteSilence(ctx context.Context, id int64) error
	Silences() []alerts.Silence
}

// AlertRecords reads alerts and notifications from the store.
type AlertRecords interface {
	List(ctx context.Context, f store.AlertFilter) ([]*alerts.Alert, error)
	Alert(ctx context.Context, id int64) (*alerts.Alert, error)
	Notifications(ctx context.Context, alertID int64, limit int) ([]notify.Record, error)
}

// AlertStream is the live change feed.
type AlertStream interface {
	Subscribe() (<-chan alerts.StreamEvent, func())
}

// AlertDeps wire the alert endpoints; nil leaves them out.
type AlertDeps struct {
	Engine  AlertEngine
	Records AlertRecords
	Stream  AlertStream
	// Report computes an estate's rescue report for a month (YYYY-MM).
	Report func(ctx context.Context, estate, month string) (alerts.RescueReport, error)
}

func (s *Server) alertRoutes() {
	s.handle("GET /api/v1/alerts", s.listAlerts)
	s.handle("GET /api/v1/alerts/stream", s.streamAlerts)
	s.handle("GET /api/v1/alerts/{id}", s.getAlert)
	s.handle("POST /api/v1/alerts/{id}/{action}", s.alertAction)
	s.handle("GET /api/v1/notifications", s.listNotifications)
	s.handle("GET /api/v1/silences", func(w http.ResponseWriter, r *http.Request) int {
		return writeJSON(w, http.StatusOK, s.d.Alerts.Engine.Silences())
	})
	s.handle("POST /api/v1/silences", s.addSilence)
	s.handle("DELETE /api/v1/silences/{id}", s.deleteSilence)
	s.handle("GET /api/v1/reports/rescue", s.rescueReport)
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	allowed := map[string]bool{"state": true, "lift": true, "estate": true, "severity": true, "type": true, "since": true, "until": true, "open": true, "limit": true}
	for k := range q {
		if !allowed[k] {
			return writeError(w, http.StatusBadRequest, "unknown query parameter "+strconv.Quote(k)+"; allowed: state, lift, estate, severity, type, since, until, open, limit")
		}
	}
	f := store.AlertFilter{State: q.Get("state"), Lift: q.Get("lift"), Estate: q.Get("estate"), Severity: q.Get("severity"), Type: q.Get("type")}
	if f.State != "" {
		switch alerts.State(f.State) {
		case alerts.StateOpen, alerts.StateAcknowledged, alerts.StateDispatched, alerts.StateOnSite, alerts.StateResolved:
		default:
			return writeError(w, http.StatusBadRequest, "state must be open, acknowledged, dispatched, on_site or resolved")
		}
	}
	if f.Severity != "" {
		if _, ok := telemetry.ParseSeverity(f.Severity); !ok {
			return writeError(w, http.StatusBadRequest, "severity must be warning, minor, major or critical")
		}
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return writeError(w, http.StatusBadRequest, name+" must be an RFC 3339 time")
			}
			*dst = t
		}
	}
	if v := q.Get("open"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return writeError(w, http.StatusBadRequest, "open must be true or false")
		}
		f.Open = b
	}
	limit, err := intParam(r, "limit", 200, 1, 10000)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	f.Limit = limit
	list, err := s.d.Alerts.Records.List(r.Context(), f)
	if err != nil {
		s.d.Logger.Error("list alerts", "err", err)
		return writeError(w, http.StatusInternalServerError, "listing alerts failed")
	}
	if list == nil {
		list = []*alerts.Alert{}
	}
	return writeJSON(w, http.StatusOK, list)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("alert id %q is not a positive integer", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) int {
	id, err := pathID(r)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	a, err := s.d.Alerts.Records.Alert(r.Context(), id)
	var nf *alerts.NotFoundError
	if errors.As(err, &nf) {
		return writeError(w, http.StatusNotFound, err.Error())
	}
	if err != nil {
		s.d.Logger.Error("get alert", "id", id, "err", err)
		return writeError(w, http.StatusInternalServerError, "reading the alert failed")
	}
	return writeJSON(w, http.StatusOK, a)
}

type conflict struct {
	Error string       `json:"error"`
	State alerts.State `json:"state"`
}

func (s *Server) alertAction(w http.ResponseWriter, r *http.Request) int {
	id, err := pathID(r)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	var act alerts.Action
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&act); err != nil {
		return writeError(w, http.StatusBadRequest, "body must be a JSON object with actor, note, to, passengers_released: "+err.Error())
	}
	e := s.d.Alerts.Engine
	do := map[string]func(int64, alerts.Action) (*alerts.Alert, error){
		"acknowledge": e.Acknowledge, "dispatch": e.Dispatch, "arrive": e.Arrive, "resolve": e.Resolve, "comment": e.Comment,
	}[r.PathValue("action")]
	if do == nil {
		return writeError(w, http.StatusNotFound, "unknown action "+strconv.Quote(r.PathValue("action"))+"; actions: acknowledge, dispatch, arrive, resolve, comment")
	}
	a, err := do(id, act)
	var te *alerts.TransitionError
	var ve *alerts.ValidationError
	var nf *alerts.NotFoundError
	switch {
	case err == nil:
		return writeJSON(w, http.StatusOK, a)
	case errors.As(err, &te):
		return writeJSON(w, http.StatusConflict, conflict{Error: te.Error(), State: te.Current})
	case errors.As(err, &ve):
		return writeError(w, http.StatusBadRequest, ve.Error())
	case errors.As(err, &nf):
		// Not open in the engine: resolved, or no such alert.
		if old, err := s.d.Alerts.Records.Alert(r.Context(), id); err == nil {
			return writeJSON(w, http.StatusConflict, conflict{Error: "the alert is " + string(old.State) + " and takes no more actions", State: old.State})
		}
		return writeError(w, http.StatusNotFound, nf.Error())
	}
	s.d.Logger.Error("alert action", "id", id, "err", err)
	return writeError(w, http.StatusInternalServerError, "the action failed")
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) int {
	var alertID int64
	if v := r.URL.Query().Get("alert"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return writeError(w, http.StatusBadRequest, "alert must be a positive integer")
		}
		alertID = id
	}
	limit, err := intParam(r, "limit", 200, 1, 10000)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	list, err := s.d.Alerts.Records.Notifications(r.Context(), alertID, limit)
	if err != nil {
		s.d.Logger.Error("list notifications", "err", err)
		return writeError(w, http.StatusInternalServerError, "listing notifications failed")
	}
	return writeJSON(w, http.StatusOK, list)
}

func (s *Server) addSilence(w http.ResponseWriter, r *http.Request) int {
	var sil alerts.Silence
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sil); err != nil {
		return writeError(w, http.StatusBadRequest, "body must be a JSON silence (lift or estate, starts_at, ends_at, reason, created_by): "+err.Error())
	}
	if sil.Lift != "" {
		if _, ok := s.d.Lifts.Get(sil.Lift); !ok {
			return writeError(w, http.StatusBadRequest, "no lift "+strconv.Quote(sil.Lift))
		}
	}
	out, err := s.d.Alerts.Engine.AddSilence(r.Context(), sil)
	var ve *alerts.ValidationError
	if errors.As(err, &ve) {
		return writeError(w, http.StatusBadRequest, ve.Error())
	}
	if err != nil {
		s.d.Logger.Error("add silence", "err", err)
		return writeError(w, http.StatusInternalServerError, "saving the silence failed")
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) deleteSilence(w http.ResponseWriter, r *http.Request) int {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return writeError(w, http.StatusBadRequest, "silence id must be an integer")
	}
	err = s.d.Alerts.Engine.DeleteSilence(r.Context(), id)
	var nf *alerts.NotFoundError
	if errors.As(err, &nf) {
		return writeError(w, http.StatusNotFound, "no silence "+strconv.FormatInt(id, 10))
	}
	if err != nil {
		return writeError(w, http.StatusInternalServerError, "deleting the silence failed")
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

func (s *Server) rescueReport(w http.ResponseWriter, r *http.Request) int {
	estate, month := r.URL.Query().Get("estate"), r.URL.Query().Get("month")
	if estate == "" {
		return writeError(w, http.StatusBadRequest, "estate is required")
	}
	if _, err := time.Parse("2006-01", month); err != nil {
		return writeError(w, http.StatusBadRequest, "month must be YYYY-MM")
	}
	rep, err := s.d.Alerts.Report(r.Context(), estate, month)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	return writeJSON(w, http.StatusOK, rep)
}

// streamAlerts serves alert changes as server-sent events.
func (s *Server) streamAlerts(w http.ResponseWriter, r *http.Request) int {
	fl, ok := w.(http.Flusher)
	if !ok {
		return writeError(w, http.StatusInternalServerError, "streaming unsupported")
	}
	ch, cancel := s.d.Alerts.Stream.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": liftwatch alert stream\n\n")
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return http.StatusOK
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case ev := <-ch:
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "id: %d\nevent: alert\ndata: %s\n\n", ev.Seq, b)
			fl.Flush()
		}
	}
}
