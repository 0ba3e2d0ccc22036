package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/registry"
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
	List(ctx context.Context, f alerts.AlertQuery) ([]*alerts.Alert, error)
	Alert(ctx context.Context, id int64) (*alerts.Alert, error)
	ListNotifications(ctx context.Context, q notify.Query) ([]notify.Record, error)
}

// AlertStream is the live change feed.
type AlertStream interface {
	Subscribe() (<-chan alerts.StreamEvent, func())
	// Resume subscribes and replays the changes after sequence after.
	Resume(after uint64) (alerts.Replay, <-chan alerts.StreamEvent, func())
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
	s.handle("GET /api/v1/alerts", Guard{Action: identity.ReadAlert}, s.listAlerts)
	s.handle("GET /api/v1/alerts/stream", Guard{Action: identity.ReadAlert}, s.streamAlerts)
	s.handle("GET /api/v1/alerts/{id}", Guard{Action: identity.ReadAlert, Object: s.alertInPath}, s.getAlert)
	for _, act := range []string{"acknowledge", "dispatch", "arrive", "resolve", "comment"} {
		s.handle("POST /api/v1/alerts/{id}/"+act, Guard{Action: identity.ActAlert, Object: s.alertInPath}, s.alertAction(act))
	}
	s.handle("GET /api/v1/notifications", Guard{Action: identity.ReadAlert}, s.listNotifications)
	s.handle("GET /api/v1/silences", Guard{Action: identity.ManageSilence}, s.listSilences)
	// A new silence's object is in its body: the handler checks it.
	s.handle("POST /api/v1/silences", Guard{Action: identity.ManageSilence}, s.addSilence)
	s.handle("DELETE /api/v1/silences/{id}", Guard{Action: identity.ManageSilence, Object: s.silenceInPath}, s.deleteSilence)
	s.handle("GET /api/v1/reports/rescue", Guard{Action: identity.ReadReports, Object: estateInQuery}, s.rescueReport)
}

// alertFilter parses the alert list's filters (also the stream's): state,
// lift, estate, severity and type may repeat (any of them matches).
func alertFilter(q url.Values, stream bool) (alerts.AlertQuery, error) {
	single := []string{"since", "until", "limit", "cursor"}
	if stream {
		single = []string{"since", "until"}
	}
	var f alerts.AlertQuery
	if err := params(q, []string{"state", "lift", "estate", "severity", "type", "open"}, single); err != nil {
		return f, err
	}
	var err error
	if f.States, err = values(q, "state", func(v string) bool {
		switch alerts.State(v) {
		case alerts.StateOpen, alerts.StateAcknowledged, alerts.StateDispatched, alerts.StateOnSite, alerts.StateResolved:
			return true
		}
		return false
	}, "open, acknowledged, dispatched, on_site or resolved"); err != nil {
		return f, err
	}
	if f.Severities, err = values(q, "severity", func(v string) bool { _, ok := telemetry.ParseSeverity(v); return ok },
		"warning, minor, major or critical"); err != nil {
		return f, err
	}
	f.Lifts, _ = values(q, "lift", nil, "")
	f.Estates, _ = values(q, "estate", nil, "")
	f.Types, _ = values(q, "type", nil, "")
	if f.Since, err = timeParam(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = timeParam(q, "until"); err != nil {
		return f, err
	}
	open, err := boolParam(q, "open")
	if err != nil {
		return f, err
	}
	f.Open = open != nil && *open
	if open != nil && !*open { // resolved only, within any state filter given
		if len(f.States) > 0 && !slices.Contains(f.States, string(alerts.StateResolved)) {
			f.Open = true // open and resolved: matches nothing, as asked
		}
		f.States = []string{string(alerts.StateResolved)}
	}
	return f, nil
}

func (s *Server) alertView(a *alerts.Alert) AlertView {
	l, _ := s.d.Lifts.Get(a.Lift)
	if l == nil {
		return alertView(a, nil, "")
	}
	return alertView(a, l, s.phone(l.Contractor))
}

// listAlerts: the filters of alertFilter, newest first, narrowed to the
// actor's scope; the cursor is the id of the last alert of the previous page.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) int {
	f, err := alertFilter(r.URL.Query(), false)
	if err == nil {
		err = s.inRegister(r, f.Estates, f.Lifts)
	}
	if err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	if f.BeforeID, err = p.int64Cursor(); err != nil {
		return writeBad(w, err)
	}
	set, all := s.scopeLifts(r, identity.ReadAlert)
	var ok bool
	if f.Lifts, ok = narrow(f.Lifts, set, all); !ok {
		return writePage(w, r, []AlertView{}, "")
	}
	f.Limit = p.limit + 1
	list, err := s.d.Alerts.Records.List(r.Context(), f)
	if err != nil {
		s.d.Logger.Error("list alerts", "err", err)
		return writeError(w, http.StatusInternalServerError, "listing alerts failed")
	}
	out := make([]AlertView, 0, len(list))
	next := ""
	for _, a := range list {
		if !all && !set[a.Lift] {
			continue
		}
		if len(out) == p.limit {
			next = strconv.FormatInt(out[len(out)-1].ID, 10)
			break
		}
		out = append(out, s.alertView(a))
	}
	return writePage(w, r, out, next)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badField("id", "alert id %q is not a positive integer", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) int {
	id, err := pathID(r)
	if err != nil {
		return writeBad(w, err)
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
	return writeJSON(w, http.StatusOK, s.alertView(a))
}

func conflict(w http.ResponseWriter, msg string, state alerts.State) int {
	return writeJSON(w, http.StatusConflict, apiError{Error: ErrorBody{Code: errorCode(http.StatusConflict), Message: msg, State: state}})
}

// conflictWith answers 409 with the alert as it is now: its state, and its
// view (with the version to act on if the person still wants to).
func (s *Server) conflictWith(w http.ResponseWriter, msg string, a *alerts.Alert) int {
	v := s.alertView(a)
	return writeJSON(w, http.StatusConflict, apiError{Error: ErrorBody{Code: errorCode(http.StatusConflict), Message: msg, State: a.State, Alert: &v}})
}

func writeValidation(w http.ResponseWriter, ve *alerts.ValidationError) int {
	if ve.Field != "" {
		return writeBad(w, badField(ve.Field, "%s", ve.Msg))
	}
	return writeBad(w, ve)
}

// actionBody is what a person sends with an action on an alert. Who acts is
// the signed-in user, never a field: actor is named only to refuse it.
type actionBody struct {
	Note               string          `json:"note"`
	To                 string          `json:"to"`
	PassengersReleased bool            `json:"passengers_released"`
	Version            int64           `json:"version"`
	Actor              json.RawMessage `json:"actor" api:"refused"`
}

// ifMatch reads If-Match: "<version>"; 0 if absent. If-Match compares
// strongly (RFC 9110 13.1.1): a weak validator (W/"3") never matches, so it
// is refused rather than taken as a version or ignored.
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, nil
	}
	if strings.HasPrefix(v, "W/") {
		return 0, badField("If-Match", `If-Match compares strongly: send the alert's version as "3", not the weak %s`, v)
	}
	if len(v) < 3 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, badField("If-Match", `If-Match must be the alert's version in quotes, such as "3", not %s`, v)
	}
	n, err := strconv.ParseInt(v[1:len(v)-1], 10, 64)
	if err != nil || n <= 0 {
		return 0, badField("If-Match", `If-Match must be the alert's version in quotes, such as "3", not %s`, v)
	}
	return n, nil
}

// alertAction serves POST /api/v1/alerts/{id}/<name>.
func (s *Server) alertAction(name string) func(w http.ResponseWriter, r *http.Request) int {
	e := s.d.Alerts.Engine
	do := map[string]func(int64, alerts.Action) (*alerts.Alert, error){
		"acknowledge": e.Acknowledge, "dispatch": e.Dispatch, "arrive": e.Arrive, "resolve": e.Resolve, "comment": e.Comment,
	}[name]
	return func(w http.ResponseWriter, r *http.Request) int { return s.doAlertAction(w, r, do) }
}

func (s *Server) doAlertAction(w http.ResponseWriter, r *http.Request, do func(int64, alerts.Action) (*alerts.Alert, error)) int {
	id, err := pathID(r)
	if err != nil {
		return writeBad(w, err)
	}
	var b actionBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	if b.Actor != nil {
		return writeBad(w, badField("actor", "actor is not a field of the body: the actor is the signed-in user (%s)", s.actor(r).Name))
	}
	if b.Version < 0 {
		return writeBad(w, badField("version", "version must be a positive integer, the alert's version you act on"))
	}
	hv, err := ifMatch(r)
	if err != nil {
		return writeBad(w, err)
	}
	if hv != 0 && b.Version != 0 && hv != b.Version {
		return writeBad(w, badField("version", "version %d and If-Match %d disagree; send one", b.Version, hv))
	}
	act := alerts.Action{Actor: s.actor(r).Name, Note: b.Note, To: b.To, PassengersReleased: b.PassengersReleased, Version: max(hv, b.Version)}
	a, err := do(id, act)
	var (
		te *alerts.TransitionError
		ve *alerts.ValidationError
		nf *alerts.NotFoundError
		se *alerts.StaleError
	)
	switch {
	case err == nil:
		w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(a.Version, 10)))
		return writeJSON(w, http.StatusOK, s.alertView(a))
	case errors.As(err, &se):
		return s.conflictWith(w, se.Error(), se.Current)
	case errors.As(err, &te):
		if cur, gerr := s.d.Alerts.Records.Alert(r.Context(), id); gerr == nil {
			return s.conflictWith(w, transitionMessage(te, cur), cur)
		}
		return conflict(w, te.Error(), te.Current)
	case errors.As(err, &ve):
		return writeValidation(w, ve)
	case errors.As(err, &nf):
		// Not open in the engine: resolved, or no such alert.
		if old, err := s.d.Alerts.Records.Alert(r.Context(), id); err == nil {
			return s.conflictWith(w, fmt.Sprintf("alert %d is %s%s and takes no more actions", id, old.State, by(old.ResolvedBy, old.ResolvedAt)), old)
		}
		return writeError(w, http.StatusNotFound, nf.Error())
	}
	s.d.Logger.Error("alert action", "id", id, "err", err)
	return writeError(w, http.StatusInternalServerError, "the action failed")
}

// by is " by NAME at TIME" when someone did it.
func by(who string, at *time.Time) string {
	if who == "" || at == nil {
		return ""
	}
	return " by " + who + " at " + ts(*at)
}

// transitionMessage says why an action cannot be taken, naming who took
// the alert further: two managers acknowledging the same alert, the second
// learns who was first.
func transitionMessage(te *alerts.TransitionError, a *alerts.Alert) string {
	msg := fmt.Sprintf("alert %d is already %s", a.ID, a.State)
	switch a.State {
	case alerts.StateAcknowledged:
		msg += by(a.AckBy, a.AckAt)
	case alerts.StateDispatched:
		msg += by(a.AckBy, a.DispatchedAt) + " (sent " + a.DispatchedTo + ")"
	case alerts.StateOnSite:
		msg += by(a.OnSiteBy, a.OnSiteAt)
	case alerts.StateResolved:
		msg += by(a.ResolvedBy, a.ResolvedAt)
	}
	return msg + ": cannot " + te.Action + " it (" + te.Reason + ")"
}

// listNotifications: ?alert=ID&alert=ID&limit=100&cursor=C, newest first,
// of the alerts in the actor's scope; the cursor is the last line's id.
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"alert"}, []string{"limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	var nq notify.Query
	for _, v := range q["alert"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return writeBad(w, badField("alert", "alert must be a positive integer, not %q", v))
		}
		nq.AlertIDs = append(nq.AlertIDs, id)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	if nq.BeforeID, err = p.int64Cursor(); err != nil {
		return writeBad(w, err)
	}
	set, all := s.scopeLifts(r, identity.ReadAlert)
	var ok bool
	if nq.Lifts, ok = narrow(nil, set, all); !ok {
		return writePage(w, r, []NotificationView{}, "")
	}
	nq.Limit = p.limit + 1
	list, err := s.d.Alerts.Records.ListNotifications(r.Context(), nq)
	if err != nil {
		s.d.Logger.Error("list notifications", "err", err)
		return writeError(w, http.StatusInternalServerError, "listing notifications failed")
	}
	out := make([]NotificationView, 0, len(list))
	next := ""
	for i := range list {
		if len(out) == p.limit {
			next = strconv.FormatInt(out[len(out)-1].ID, 10)
			break
		}
		out = append(out, notificationView(&list[i]))
	}
	return writePage(w, r, out, next)
}

// silenceObject is what a silence is about, for authorisation.
// unknownTarget is the refusal of a lift or estate named in a body that is
// not in the register or not in the actor's scope: one answer for both.
func unknownTarget(field, name string) error {
	return badField(field, "no %s %q among those you may act on", field, name)
}

func silenceObject(sil *alerts.Silence) identity.Object {
	if sil.Lift != "" {
		return identity.Object{Lift: sil.Lift}
	}
	return identity.Object{Estate: sil.Estate}
}

// listSilences: ?lift=X&estate=Y (repeatable; a silence matches if it names
// any of them), the silences the actor may manage, by id; the cursor is the
// last one's id.
func (s *Server) listSilences(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"lift", "estate"}, []string{"limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	lifts, _ := values(q, "lift", nil, "")
	estates, _ := values(q, "estate", nil, "")
	if err := s.inRegister(r, estates, lifts); err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	after, err := p.int64Cursor()
	if err != nil {
		return writeBad(w, err)
	}
	out := []SilenceView{}
	next := ""
	for _, sil := range s.d.Alerts.Engine.Silences() {
		if sil.ID <= after {
			continue
		}
		if len(lifts)+len(estates) == 0 || sil.Lift != "" && slices.Contains(lifts, sil.Lift) ||
			sil.Estate != "" && slices.Contains(estates, sil.Estate) {
			if !s.visible(r, identity.ManageSilence, silenceObject(&sil)) {
				continue
			}
			if len(out) == p.limit {
				next = strconv.FormatInt(out[len(out)-1].ID, 10)
				break
			}
			out = append(out, silenceView(&sil))
		}
	}
	return writePage(w, r, out, next)
}

// silenceBody is a new silence as a client posts it.
type silenceBody struct {
	Lift     string `json:"lift"`
	Estate   string `json:"estate"`
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
	Reason   string `json:"reason"`
	// CreatedBy is named only to refuse it: the author is the signed-in user.
	CreatedBy json.RawMessage `json:"created_by" api:"refused"`
}

// silence checks a posted silence field by field, naming the one at fault.
func (s *Server) silence(b silenceBody, author string) (alerts.Silence, error) {
	sil := alerts.Silence{Lift: b.Lift, Estate: b.Estate, Reason: b.Reason, CreatedBy: author}
	switch {
	case b.CreatedBy != nil:
		return sil, badField("created_by", "created_by is not a field of the body: the author is the signed-in user (%s)", author)
	case b.Lift == "" && b.Estate == "":
		return sil, badField("lift", "a silence names a lift or an estate; both are missing")
	case b.Lift != "" && b.Estate != "":
		return sil, badField("estate", "a silence names a lift or an estate, not both")
	}
	if b.Lift != "" {
		if _, ok := s.d.Lifts.Get(b.Lift); !ok {
			return sil, unknownTarget("lift", b.Lift)
		}
	}
	if b.Estate != "" && !slices.ContainsFunc(s.d.Lifts.Lifts(), func(l registry.Lift) bool { return l.Estate == b.Estate }) {
		return sil, unknownTarget("estate", b.Estate)
	}
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"starts_at", b.StartsAt, &sil.StartsAt}, {"ends_at", b.EndsAt, &sil.EndsAt}} {
		if f.v == "" {
			return sil, badField(f.name, "%s is required (an RFC 3339 time)", f.name)
		}
		t, err := time.Parse(time.RFC3339Nano, f.v)
		if err != nil {
			return sil, badField(f.name, "%s must be an RFC 3339 time such as 2026-11-24T10:00:00.000Z, not %q", f.name, f.v)
		}
		*f.dst = t
	}
	switch {
	case !sil.EndsAt.After(sil.StartsAt):
		return sil, badField("ends_at", "ends_at must be after starts_at")
	case strings.TrimSpace(b.Reason) == "":
		return sil, badField("reason", "reason is required")
	}
	return sil, nil
}

func (s *Server) addSilence(w http.ResponseWriter, r *http.Request) int {
	var b silenceBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	sil, err := s.silence(b, s.actor(r).Name)
	if err != nil {
		return writeBad(w, err)
	}
	if d, ok := s.decide(r, identity.ManageSilence, silenceObject(&sil)); ok && d.OutOfScope {
		// Out of scope is refused as an unknown lift or estate is, in the
		// same words: which exist, and whose they are, stays out of it.
		if sil.Lift != "" {
			return writeBad(w, unknownTarget("lift", sil.Lift))
		}
		return writeBad(w, unknownTarget("estate", sil.Estate))
	}
	if code := s.require(w, r, identity.ManageSilence, silenceObject(&sil)); code != 0 {
		return code
	}
	out, err := s.d.Alerts.Engine.AddSilence(r.Context(), sil)
	var ve *alerts.ValidationError
	if errors.As(err, &ve) {
		return writeValidation(w, ve)
	}
	if err != nil {
		s.d.Logger.Error("add silence", "err", err)
		return writeError(w, http.StatusInternalServerError, "saving the silence failed")
	}
	return writeJSON(w, http.StatusCreated, silenceView(&out))
}

func (s *Server) deleteSilence(w http.ResponseWriter, r *http.Request) int {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return writeBad(w, badField("id", "silence id must be an integer, not %q", r.PathValue("id")))
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
	q := r.URL.Query()
	if err := params(q, nil, []string{"estate", "month"}); err != nil {
		return writeBad(w, err)
	}
	estate, month := q.Get("estate"), q.Get("month")
	if estate == "" {
		return writeBad(w, badField("estate", "estate is required"))
	}
	if _, err := time.Parse("2006-01", month); err != nil {
		return writeBad(w, badField("month", "month must be YYYY-MM, not %q", month))
	}
	if err := s.inRegister(r, []string{estate}, nil); err != nil {
		return writeBad(w, err)
	}
	rep, err := s.d.Alerts.Report(r.Context(), estate, month)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	return writeJSON(w, http.StatusOK, rescueReportView(&rep))
}

// streamAlerts serves alert changes as server-sent events. It takes the
// alert list's filters and, with Last-Event-ID, replays the changes the
// client missed; if it cannot (they are no longer held, or the id is ahead
// of this server's, as after a restart) it sends a "reset" event telling the
// client to reload the list, with a code saying which.
func (s *Server) streamAlerts(w http.ResponseWriter, r *http.Request) int {
	fl, ok := w.(http.Flusher)
	if !ok {
		return writeError(w, http.StatusInternalServerError, "streaming unsupported")
	}
	f, err := alertFilter(r.URL.Query(), true)
	if err == nil {
		err = s.inRegister(r, f.Estates, f.Lifts)
	}
	if err != nil {
		return writeBad(w, err)
	}
	var (
		replay alerts.Replay
		ch     <-chan alerts.StreamEvent
		cancel func()
		after  uint64
	)
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		after, err = strconv.ParseUint(v, 10, 64)
		if err != nil {
			return writeBad(w, badField("Last-Event-ID", "Last-Event-ID must be an event id from this stream, not %q", v))
		}
		replay, ch, cancel = s.d.Alerts.Stream.Resume(after)
	} else {
		ch, cancel = s.d.Alerts.Stream.Subscribe()
		replay.Complete = true
	}
	defer cancel()
	ctx, stop := s.streamContext(r)
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": liftwatch alert stream\n\n")
	if !replay.Complete {
		reset := map[string]any{"code": "expired", "last_event_id": replay.Latest,
			"reason": fmt.Sprintf("the changes after Last-Event-ID %d are no longer held; reload the alert list", after)}
		if after > replay.Latest {
			reset["code"] = "unknown_id"
			reset["reason"] = fmt.Sprintf("Last-Event-ID %d is unknown here: it is ahead of this server's newest change %d "+
				"(liftwatch restarted since?); reload the alert list", after, replay.Latest)
		}
		b, _ := json.Marshal(reset)
		fmt.Fprintf(w, "id: %d\nevent: reset\ndata: %s\n\n", replay.Latest, b)
	}
	may := s.liftFilter(r, identity.ReadAlert)
	for _, ev := range replay.Events {
		s.sendAlertEvent(w, f, may, ev)
	}
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			if r.Context().Err() == nil {
				fmt.Fprint(w, streamEnded)
				fl.Flush()
			}
			return http.StatusOK
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case ev := <-ch:
			if s.sendAlertEvent(w, f, may, ev) {
				fl.Flush()
			}
		}
	}
}

func (s *Server) sendAlertEvent(w io.Writer, f alerts.AlertQuery, may func(lift string) bool, ev alerts.StreamEvent) bool {
	if ev.Alert == nil || !f.Match(ev.Alert) || !may(ev.Alert.Lift) {
		return false
	}
	b, _ := json.Marshal(StreamEvent{Seq: ev.Seq, Event: eventView(ev.Event), Alert: s.alertView(ev.Alert)})
	fmt.Fprintf(w, "id: %d\nevent: alert\ndata: %s\n\n", ev.Seq, b)
	return true
}

// alertInPath is the Object finder of /alerts/{id}: the alert's lift.
func (s *Server) alertInPath(r *http.Request) (identity.Object, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return identity.Object{}, notFound("no alert " + strconv.Quote(r.PathValue("id")))
	}
	a, err := s.d.Alerts.Records.Alert(r.Context(), id)
	if err != nil {
		var nf *alerts.NotFoundError
		if errors.As(err, &nf) {
			return identity.Object{}, notFound(nf.Error())
		}
		return identity.Object{}, err
	}
	return identity.Object{Lift: a.Lift}, nil
}

// silenceInPath is the Object finder of /silences/{id}: what the silence
// is about (its lift or estate).
func (s *Server) silenceInPath(r *http.Request) (identity.Object, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return identity.Object{}, &guardError{status: http.StatusBadRequest, code: "bad_request", field: "id",
			msg: fmt.Sprintf("silence id must be an integer, not %q", r.PathValue("id"))}
	}
	for _, sil := range s.d.Alerts.Engine.Silences() {
		if sil.ID == id {
			return silenceObject(&sil), nil
		}
	}
	return identity.Object{}, notFound("no silence " + strconv.FormatInt(id, 10))
}

// estateInQuery is the Object finder of routes about one estate named in
// ?estate= (reports).
func estateInQuery(r *http.Request) (identity.Object, error) {
	e := r.URL.Query().Get("estate")
	if e == "" {
		return identity.Object{}, &guardError{status: http.StatusBadRequest, code: "bad_request", field: "estate", msg: "estate is required"}
	}
	return identity.Object{Estate: e}, nil
}
