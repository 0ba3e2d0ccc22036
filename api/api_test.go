package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/history/sqlhistory"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

type fakeStates map[string]liftstate.Lift

func (f fakeStates) Get(id string) (liftstate.Lift, bool) { s, ok := f[id]; return s, ok }

// cst is a non-UTC zone with nanoseconds in the fixture's times, so the
// timestamp convention is really applied, not inherited.
var cst = time.FixedZone("CST", 8*3600)

// fixture is a server over a real SQLite store and a real alert engine.
type fixture struct {
	srv     *httptest.Server
	db      *store.DB
	hub     *alerts.Hub
	lifts   []registry.Lift // three of estate A, two of estate B
	estateA string
	estateB string
	alerts  []*alerts.Alert
}

func testLifts() []registry.Lift {
	all := registry.Generate(1)
	var out []registry.Lift
	first := all[0].Estate
	var second string
	for _, l := range all {
		switch {
		case l.Estate == first && len(out) < 3:
			out = append(out, l)
		case l.Estate != first && (second == "" || l.Estate == second) && len(out) >= 3 && len(out) < 5:
			second = l.Estate
			out = append(out, l)
		}
	}
	return out
}

// fixtureOption changes the fixture's server: its deps, or the handler's
// wrapping (a test actor).
type fixtureOption struct {
	deps func(*Deps)
	wrap func(http.Handler) http.Handler
}

func newFixture(t *testing.T, ready map[string]Check, hub *alerts.Hub, opts ...fixtureOption) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{lifts: testLifts(), hub: hub}
	if f.hub == nil {
		f.hub = alerts.NewHub()
	}
	f.estateA, f.estateB = f.lifts[0].Estate, f.lifts[4].Estate
	idx := registry.NewIndex(f.lifts)
	var err error
	if f.db, err = store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "lw.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })

	// History: one lift, three kinds, points with nanosecond offsets.
	var recs []history.Record
	for i, k := range []telemetry.Kind{telemetry.KindTrip, telemetry.KindDoor, telemetry.KindStatus, telemetry.KindTrip} {
		m := telemetry.Message{Kind: k, Lift: f.lifts[0].ID, Boot: 1, Seq: int64(i + 1), TS: 1790000000000 + int64(i)*1000,
			From: 1, To: 5, DurationMS: 8000, MaxSpeed: 1.5, Floor: 5, OpenMS: 3000, Mode: telemetry.Mode(0), Trips: 9}
		recs = append(recs, history.Record{Kind: k, Lift: m.Lift, Boot: 1, Seq: m.Seq, PointNS: m.PointTime(),
			Line: telemetry.AppendLine(nil, &m, f.estateA)})
	}
	hist := sqlhistory.New(f.db.SQL, f.db.Dialect)
	if err := hist.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}

	// Alerts: one per lift, a mix of estates, types, severities and states.
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 123456789, cst)
	for i, l := range f.lifts {
		a := &alerts.Alert{Lift: l.ID, Estate: l.Estate, Type: []string{alerts.TypeEntrapment, alerts.TypeOffline, "fault.door_lock"}[i%3],
			Severity: telemetry.Severity(i % 4), State: alerts.StateOpen, Summary: "s", Count: 1,
			FirstSeen: t0.Add(time.Duration(i) * time.Minute), LastSeen: t0.Add(time.Duration(i) * time.Minute), OpenedAt: t0.Add(time.Duration(i) * time.Minute)}
		if i == 4 {
			a.State = alerts.StateResolved
			r := t0.Add(time.Hour)
			a.ResolvedAt, a.ResolvedBy = &r, "x"
		}
		if err := f.db.Alerts().SaveAlert(ctx, a, []alerts.Event{{At: a.OpenedAt, Action: "opened", Actor: "liftwatch"}}); err != nil {
			t.Fatal(err)
		}
		f.alerts = append(f.alerts, a)
	}
	for _, id := range []int64{1, 1, 2} {
		rec := notify.Record{AlertID: id, Receiver: "r", Event: "opened", Tier: 1, At: t0, Attempts: 1, Outcome: "delivered"}
		if err := f.db.Alerts().LogNotification(ctx, &rec); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := alerts.New(ctx, alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Estates: idx.Estate, Lifts: liftstate.New(idx, liftstate.Options{}),
		Store: f.db.Alerts(), Clock: func() time.Time { return t0.Add(2 * time.Hour) }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.AddSilence(ctx, alerts.Silence{Estate: f.estateB, StartsAt: t0, EndsAt: t0.Add(time.Hour), Reason: "works", CreatedBy: "ops"}); err != nil {
		t.Fatal(err)
	}

	seen := time.Date(2026, 11, 24, 9, 59, 0, 987654321, cst)
	st := &telemetry.Message{Kind: telemetry.KindStatus, TS: 1790000000000, Mode: telemetry.ModeInspection, Floor: 3,
		Occupied: true, Trips: 10, Has: telemetry.FieldBattery, BatteryPct: 55}
	states := fakeStates{f.lifts[0].ID: {Lift: f.lifts[0].ID, Online: true, LastSeen: &seen, LastEvent: &seen, Status: st, Gaps: 2}}
	dl := ingest.NewDeadLetters(10)
	dl.Add(seen, "lifts/X/alarm", []byte("{bad"), &telemetry.DecodeError{Reason: telemetry.ReasonMalformed, Msg: "x"})
	dl.Add(seen, "lifts/ZZ/alarm", []byte("{}"), &telemetry.DecodeError{Reason: telemetry.ReasonUnknownLift, Msg: "y"})
	dl.Add(seen, "lifts/X/door", []byte("{}"), &telemetry.DecodeError{Reason: telemetry.ReasonBadTopic, Msg: "z"})
	reg := prometheus.NewRegistry()
	d := Deps{Lifts: idx, States: states, DeadLetters: dl, History: hist, Ready: ready, Gatherer: reg, Registerer: reg,
		Alerts: &AlertDeps{Engine: eng, Records: f.db.Alerts(), Stream: f.hub,
			Report: func(context.Context, string, string) (alerts.RescueReport, error) { return alerts.RescueReport{}, nil }}}
	var h http.Handler
	for _, o := range opts {
		if o.deps != nil {
			o.deps(&d)
		}
	}
	h = New(d).Handler()
	for _, o := range opts {
		if o.wrap != nil {
			h = o.wrap(h)
		}
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request without following redirects. The time limit only
// ends a response that would never end (a stream answering a request that
// should have been refused).
func (f *fixture) do(t *testing.T, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (f *fixture) get(t *testing.T, path string, v any) int {
	t.Helper()
	resp, b := f.do(t, "GET", path, "")
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, b)
		}
	}
	return resp.StatusCode
}

// checkError asserts the one error envelope: {"error": {"code", "message",
// "field"?, "state"?}}, nothing else, a message that is not a raw Go error,
// and the field if one is expected.
func checkError(t *testing.T, what string, resp *http.Response, b []byte, status int, field string) ErrorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: status %d, want %d: %s", what, resp.StatusCode, status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: content type %q", what, ct)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 1 || raw["error"] == nil {
		t.Errorf("%s: not the error envelope: %s", what, b)
		return ErrorBody{}
	}
	for k := range raw["error"] {
		if k != "code" && k != "message" && k != "field" && k != "state" && k != "alert" {
			t.Errorf("%s: unexpected error member %q", what, k)
		}
	}
	var e apiError
	_ = json.Unmarshal(b, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s: code or message empty: %s", what, b)
	}
	if strings.Contains(e.Error.Message, "json:") || strings.Contains(e.Error.Message, "invalid character") ||
		strings.Contains(e.Error.Message, "Go struct") {
		t.Errorf("%s: raw decoder message: %q", what, e.Error.Message)
	}
	if e.Error.Field != field {
		t.Errorf("%s: field %q, want %q (message %q)", what, e.Error.Field, field, e.Error.Message)
	}
	return e.Error
}

func TestLifts(t *testing.T) {
	f := newFixture(t, nil, nil)
	var all []Lift
	if code := f.get(t, "/api/v1/lifts", &all); code != 200 || len(all) != 5 {
		t.Fatalf("list: %d, %d lifts", code, len(all))
	}
	var online []Lift
	f.get(t, "/api/v1/lifts?online=true", &online)
	if len(online) != 1 || online[0].ID != f.lifts[0].ID || online[0].Status == nil || online[0].Status.Mode != "inspection" ||
		*online[0].Status.BatteryPct != 55 || online[0].Gaps != 2 {
		t.Fatalf("online filter/view wrong: %+v", online)
	}
	var one Lift
	if code := f.get(t, "/api/v1/lifts/"+f.lifts[1].ID, &one); code != 200 || one.Online || one.Status != nil {
		t.Fatalf("never-seen lift: %d %+v", code, one)
	}
}

// TestOddPaths: unknown and unclean paths are a 404 in the envelope, never
// a redirect or an HTML page.
func TestOddPaths(t *testing.T) {
	f := newFixture(t, nil, nil)
	for _, p := range []string{"/api/v1/lifts/", "//api/v1/lifts", "//api", "/api/v1/nope", "/api/v1/./lifts",
		"/api/v1/lifts/x/../" + f.lifts[0].ID, "/api/v1/lifts/" + f.lifts[0].ID + "/history/", "/api/v1/alerts/", "/nothing",
		"/api/v1/lifts/NOPE"} {
		resp, b := f.do(t, "GET", p, "")
		checkError(t, "GET "+p, resp, b, 404, "")
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("GET %s: redirect to %s", p, loc)
		}
	}
	resp, b := f.do(t, "POST", "//api/v1/silences", "{}")
	checkError(t, "POST //api/v1/silences", resp, b, 404, "")
}

// TestHandleKeepsConventions: routes added by Handle (the demo's) get the
// API's 404 for unclean paths, 405 with Allow, and the request metric.
func TestHandleKeepsConventions(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(Deps{Lifts: registry.NewIndex(testLifts()), States: fakeStates{}, DeadLetters: ingest.NewDeadLetters(1),
		Gatherer: reg, Registerer: reg})
	s.Handle("POST /demo/trigger", Guard{Action: identity.ActAlert}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusAccepted, map[string]string{"ok": "yes"})
	}))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	for _, p := range []string{"//demo/trigger", "/demo/trigger/", "/demo/./trigger", "/demo/x/../trigger", "/demo/nope"} {
		resp, b := f.do(t, "POST", p, "")
		checkError(t, "POST "+p, resp, b, 404, "")
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("POST %s: redirect to %s", p, loc)
		}
	}
	resp, b := f.do(t, "GET", "/demo/trigger", "")
	checkError(t, "GET /demo/trigger", resp, b, 405, "")
	if got := resp.Header.Get("Allow"); got != "POST" {
		t.Errorf("GET /demo/trigger: Allow %q", got)
	}
	if resp, b := f.do(t, "POST", "/demo/trigger", ""); resp.StatusCode != 202 || !strings.Contains(string(b), `"yes"`) {
		t.Fatalf("POST /demo/trigger: %d %s", resp.StatusCode, b)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var counted bool
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var route, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "route":
					route = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			counted = counted || route == "POST /demo/trigger" && code == "202"
		}
	}
	if !counted {
		t.Error("no request metric for the added route")
	}
}

// TestMethodNotAllowed: a known path with the wrong method is 405 with Allow.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, nil, nil)
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/api/v1/lifts", "GET, HEAD"},
		{"DELETE", "/api/v1/lifts/" + f.lifts[0].ID, "GET, HEAD"},
		{"PUT", "/api/v1/alerts", "GET, HEAD"},
		{"GET", "/api/v1/alerts/1/acknowledge", "POST"},
		{"PATCH", "/api/v1/silences", "GET, HEAD, POST"},
		{"GET", "/api/v1/silences/1", "DELETE"},
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/api/v1/deadletters", "GET, HEAD"},
	} {
		resp, b := f.do(t, tc.method, tc.path, "")
		checkError(t, tc.method+" "+tc.path, resp, b, 405, "")
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

// TestBodies: one JSON object of known fields, at most 16 KiB; errors name
// the field and never show the decoder's own words.
func TestBodies(t *testing.T) {
	f := newFixture(t, nil, nil)
	ack := "/api/v1/alerts/1/acknowledge"
	big := `{"note":"` + strings.Repeat("x", 20<<10) + `"}`
	for _, tc := range []struct {
		name, path, body string
		status           int
		field, contains  string
	}{
		{"trailing garbage", ack, `{"note":"a"} x`, 400, "", "after the JSON object"},
		{"second object", ack, `{"note":"a"}{"note":"b"}`, 400, "", "after the JSON object"},
		{"unknown field", ack, `{"note":"a","colour":"red"}`, 400, "colour", `unknown field "colour"; fields: note, to, passengers_released, version`},
		{"wrong type", ack, `{"note":5}`, 400, "note", "field note: want a string, not a number"},
		{"wrong bool", "/api/v1/alerts/1/resolve", `{"note":"a","passengers_released":"yes"}`, 400, "passengers_released", "want true or false"},
		{"not an object", ack, `[1]`, 400, "", "must be a JSON object"},
		{"syntax", ack, `{"note":}`, 400, "", "not valid JSON"},
		{"truncated", ack, `{"note":`, 400, "", "ends before"},
		// The actor is the signed-in user, never a field of the body.
		{"actor in the body", ack, `{"actor":"Li"}`, 400, "actor", "actor is not a field of the body: the actor is the signed-in user"},
		{"bad If-Match is not a version", ack, `{"version":-1}`, 400, "version", "version must be a positive integer"},
		{"empty", ack, ``, 400, "", "body is empty"},
		{"too large", ack, big, 413, "", "larger than 16 KiB"},
		{"too large silence", "/api/v1/silences", big, 413, "", "larger than 16 KiB"},
		{"engine validation names field", "/api/v1/alerts/1/comment", `{"note":" "}`, 400, "note", "note is required"},
		{"silence unknown field", "/api/v1/silences", `{"estate":"` + f.estateA + `","id":3}`, 400, "id", `unknown field "id"`},
		{"duplicate key", "/api/v1/alerts/1/comment", `{"to":"a","to":"b","note":"dup"}`, 400, "to", "to more than once"},
		{"duplicate key by case", "/api/v1/alerts/1/comment", `{"to":"a","note":"x","Note":"y"}`, 400, "Note", "Note more than once"},
		{"silence duplicate key", "/api/v1/silences", `{"estate":"` + f.estateA + `","reason":"a","reason":"b"}`, 400, "reason", "more than once"},
		{"null", "/api/v1/alerts/1/comment", `null`, 400, "", "body must be a JSON object"},
		{"null with spaces", ack, " null\n", 400, "", "body must be a JSON object"},
		{"a string", ack, `"actor"`, 400, "", "body must be a JSON object"},
		// Text a person reads later is text (issue 18).
		{"NUL in a note", "/api/v1/alerts/1/comment", `{"note":"a\u0000b"}`, 400, "note", "NUL"},
		{"bell in a note", "/api/v1/alerts/1/comment", `{"note":"a\u0007b"}`, 400, "note", "U+0007"},
		{"bidi override", "/api/v1/alerts/1/comment", `{"note":"invoice\u202Etxt.exe"}`, 400, "note", "U+202E"},
		{"bidi isolate in to", "/api/v1/alerts/1/dispatch", `{"to":"\u2066x"}`, 400, "to", "U+2066"},
		{"lone surrogate", "/api/v1/alerts/1/comment", `{"note":"\ud800"}`, 400, "note", "surrogate"},
		{"invalid UTF-8", "/api/v1/alerts/1/comment", "{\"note\":\"a\xff\xfeb\"}", 400, "", "not valid UTF-8"},
	} {
		resp, b := f.do(t, "POST", tc.path, tc.body)
		e := checkError(t, tc.name, resp, b, tc.status, tc.field)
		if !strings.Contains(e.Message, tc.contains) {
			t.Errorf("%s: message %q lacks %q", tc.name, e.Message, tc.contains)
		}
	}
	// Line breaks and tabs are text.
	if resp, b := f.do(t, "POST", "/api/v1/alerts/1/comment", `{"note":"line one\nline\ttwo 中文"}`); resp.StatusCode != 200 {
		t.Fatalf("a note with a line break: %d %s", resp.StatusCode, b)
	}
	// Trailing whitespace is not trailing data.
	if resp, b := f.do(t, "POST", ack, "{\"note\":\"Li\"}\n\t "); resp.StatusCode != 200 {
		t.Fatalf("ack with trailing newline: %d %s", resp.StatusCode, b)
	}
	// A conflict keeps the envelope and carries the state.
	resp, b := f.do(t, "POST", ack, `{}`)
	if e := checkError(t, "second ack", resp, b, 409, ""); e.State != alerts.StateAcknowledged || e.Alert == nil || e.Alert.State != "acknowledged" {
		t.Errorf("conflict state %q, alert %+v", e.State, e.Alert)
	}
}

// TestSilenceValidation: each refusal names the field actually wrong; an
// unknown estate is refused like an unknown lift.
func TestSilenceValidation(t *testing.T) {
	f := newFixture(t, nil, nil)
	ok := map[string]string{"estate": f.estateA, "starts_at": "2026-11-24T10:00:00Z", "ends_at": "2026-11-24T20:00:00+08:00",
		"reason": "lift works"}
	body := func(change map[string]string) string {
		m := map[string]string{}
		for k, v := range ok {
			m[k] = v
		}
		for k, v := range change {
			if v == "-" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct {
		name   string
		change map[string]string
		field  string
	}{
		{"unknown estate", map[string]string{"estate": "atlantis"}, "estate"},
		{"unknown lift", map[string]string{"estate": "-", "lift": "NOPE-1"}, "lift"},
		{"neither", map[string]string{"estate": "-"}, "lift"},
		{"both", map[string]string{"lift": f.lifts[0].ID}, "estate"},
		{"no reason", map[string]string{"reason": " "}, "reason"},
		// The author is the signed-in user, never a field of the body.
		{"author given", map[string]string{"created_by": "ops"}, "created_by"},
		{"bad start", map[string]string{"starts_at": "tomorrow"}, "starts_at"},
		{"no end", map[string]string{"ends_at": "-"}, "ends_at"},
		{"end before start", map[string]string{"ends_at": "2026-11-24T09:00:00Z"}, "ends_at"},
		{"too long", map[string]string{"ends_at": "2027-01-24T09:00:00Z"}, "ends_at"},
	} {
		resp, b := f.do(t, "POST", "/api/v1/silences", body(tc.change))
		checkError(t, tc.name, resp, b, 400, tc.field)
	}
	resp, b := f.do(t, "POST", "/api/v1/silences", body(nil))
	if resp.StatusCode != 201 {
		t.Fatalf("valid silence: %d %s", resp.StatusCode, b)
	}
	resp, b = f.do(t, "POST", "/api/v1/silences", body(map[string]string{"estate": "-", "lift": f.lifts[1].ID}))
	if resp.StatusCode != 201 {
		t.Fatalf("valid lift silence: %d %s", resp.StatusCode, b)
	}
}

// TestBadQueryParams: a bad query parameter is a 400 naming it.
func TestBadQueryParams(t *testing.T) {
	f := newFixture(t, nil, nil)
	h := "/api/v1/lifts/" + f.lifts[0].ID + "/history"
	for _, tc := range []struct{ path, field string }{
		{"/api/v1/lifts?online=maybe", "online"},
		{"/api/v1/lifts?colour=red", "colour"},
		{"/api/v1/alerts?limit=-1", "limit"},
		{"/api/v1/alerts?limit=1&limit=2", "limit"},
		{"/api/v1/alerts?since=garbage", "since"},
		{"/api/v1/alerts?until=2026-13-01", "until"},
		{"/api/v1/alerts?state=closed", "state"},
		{"/api/v1/alerts?state=open&state=bogus", "state"},
		{"/api/v1/alerts?severity=huge", "severity"},
		{"/api/v1/alerts?open=maybe", "open"},
		{"/api/v1/alerts/abc", "id"},
		{"/api/v1/alerts/stream?limit=5", "limit"},
		{"/api/v1/alerts/stream?state=bogus", "state"},
		{"/api/v1/notifications?alert=x", "alert"},
		{"/api/v1/notifications?limit=0", "limit"},
		{"/api/v1/deadletters?reason=bogus", "reason"},
		{"/api/v1/deadletters?limit=100000", "limit"},
		{h + "?kind=bogus", "kind"},
		{h + "?since=yesterday", "since"},
		{h + "?limit=-1", "limit"},
		{h + "?cursor=zz", "cursor"},
		{"/api/v1/silences?colour=red", "colour"},
		{"/api/v1/reports/rescue?estate=x&month=2026-13", "month"},
		{"/api/v1/reports/rescue?month=2026-11", "estate"},
		// A filter naming nothing in the register is a typo, not an empty list.
		{"/api/v1/lifts?estate=nowhere", "estate"},
		{"/api/v1/alerts?estate=nowhere", "estate"},
		{"/api/v1/alerts?estate=" + f.estateA + "&estate=nowhere", "estate"},
		{"/api/v1/alerts?lift=NOPE-1", "lift"},
		{"/api/v1/alerts/stream?estate=nowhere", "estate"},
		{"/api/v1/alerts/stream?lift=NOPE-1", "lift"},
		{"/api/v1/silences?estate=nowhere", "estate"},
		{"/api/v1/silences?lift=NOPE-1", "lift"},
		{"/api/v1/reports/rescue?estate=nowhere&month=2026-11", "estate"},
	} {
		resp, b := f.do(t, "GET", tc.path, "")
		checkError(t, tc.path, resp, b, 400, tc.field)
	}
}

var timeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// walk checks a decoded JSON value: no null anywhere (empty lists are [],
// absent values are left out) and every timestamp-looking string in the
// one format.
func walk(t *testing.T, where string, v any) (times int) {
	t.Helper()
	switch x := v.(type) {
	case nil:
		t.Errorf("%s: null", where)
	case map[string]any:
		for k, e := range x {
			times += walk(t, where+"."+k, e)
		}
	case []any:
		for _, e := range x {
			times += walk(t, where+"[]", e)
		}
	case string:
		if len(x) >= 10 && regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`).MatchString(x) && strings.Contains(x, "T") {
			times++
			if !timeRE.MatchString(x) {
				t.Errorf("%s: timestamp %q not in the one format", where, x)
			}
		}
	}
	return times
}

// TestResponsesShape: every endpoint's response has no null, [] for empty
// lists, and every timestamp as 2006-01-02T15:04:05.000Z.
func TestResponsesShape(t *testing.T) {
	f := newFixture(t, nil, nil)
	// One alert action so that an alert has a history of several events.
	if resp, b := f.do(t, "POST", "/api/v1/alerts/1/comment", `{"note":"at 2026-11-24T10:00:00+08:00"}`); resp.StatusCode != 200 {
		t.Fatalf("comment: %d %s", resp.StatusCode, b)
	}
	id := f.lifts[0].ID
	for _, tc := range []struct {
		path     string
		minTimes int
	}{
		{"/api/v1/lifts", 3},
		{"/api/v1/lifts/" + id, 3},
		{"/api/v1/lifts/" + id + "/history", 4},
		{"/api/v1/lifts/" + id + "/history?kind=alarm", 0},
		{"/api/v1/lifts/" + f.lifts[1].ID + "/history", 0},
		{"/api/v1/alerts", 15},
		{"/api/v1/alerts?lift=" + f.lifts[1].ID + "&state=dispatched", 0},
		{"/api/v1/alerts/1", 5},
		{"/api/v1/notifications", 3},
		{"/api/v1/notifications?alert=99", 0},
		{"/api/v1/silences", 3},
		{"/api/v1/silences?lift=" + f.lifts[2].ID, 0},
		{"/api/v1/deadletters", 3},
		{"/api/v1/deadletters?reason=too_large", 0},
		{"/api/v1/deadletters?reason=too_large&reason=bad_version", 0},
	} {
		resp, b := f.do(t, "GET", tc.path, "")
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, b)
			continue
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if n := walk(t, tc.path, v); n < tc.minTimes {
			t.Errorf("%s: %d timestamps, want at least %d: %s", tc.path, n, tc.minTimes, b)
		}
		if tc.minTimes == 0 && !strings.Contains(string(b), "[]") {
			t.Errorf("%s: empty list not []: %s", tc.path, b)
		}
	}
}

// TestRepeatedFilters: ?x=a&x=b means a or b on every list endpoint.
func TestRepeatedFilters(t *testing.T) {
	f := newFixture(t, nil, nil)
	var lifts []Lift
	f.get(t, "/api/v1/lifts?estate="+f.estateA+"&estate="+f.estateB, &lifts)
	if len(lifts) != 5 {
		t.Errorf("lifts of two estates: %d", len(lifts))
	}
	f.get(t, "/api/v1/lifts?estate="+f.estateB+"&estate="+f.estateB, &lifts)
	if len(lifts) != 2 {
		t.Errorf("lifts of estate B or B: %d", len(lifts))
	}
	f.get(t, "/api/v1/lifts?online=true&online=false", &lifts)
	if len(lifts) != 5 {
		t.Errorf("online or not: %d", len(lifts))
	}
	count := func(path string) int {
		var list []json.RawMessage
		if code := f.get(t, path, &list); code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		return len(list)
	}
	l := f.lifts
	for path, want := range map[string]int{
		"/api/v1/alerts?lift=" + l[0].ID + "&lift=" + l[3].ID:                         2,
		"/api/v1/alerts?estate=" + f.estateA + "&estate=" + f.estateB:                 5,
		"/api/v1/alerts?estate=" + f.estateB:                                          2,
		"/api/v1/alerts?type=entrapment&type=offline":                                 4,
		"/api/v1/alerts?state=open&state=resolved":                                    5,
		"/api/v1/alerts?state=resolved":                                               1,
		"/api/v1/alerts?severity=warning&severity=minor":                              3,
		"/api/v1/alerts?open=true&estate=" + f.estateB:                                1,
		"/api/v1/alerts?open=false":                                                   1,
		"/api/v1/alerts?open=false&state=open":                                        0,
		"/api/v1/alerts?open=true&open=false":                                         5,
		"/api/v1/alerts?open=true&state=resolved":                                     0,
		"/api/v1/notifications?alert=1&alert=2":                                       3,
		"/api/v1/notifications?alert=2&alert=3":                                       1,
		"/api/v1/deadletters?reason=malformed_json&reason=unknown_lift":               2,
		"/api/v1/deadletters?reason=malformed_json&reason=unknown_lift&limit=1":       1,
		"/api/v1/silences?estate=" + f.estateB + "&estate=" + f.estateA:               1,
		"/api/v1/silences?lift=" + l[0].ID + "&estate=" + f.estateB:                   1,
		"/api/v1/deadletters?reason=bad_topic&reason=malformed_json&reason=too_large": 2,
	} {
		if got := count(path); got != want {
			t.Errorf("%s: %d, want %d", path, got, want)
		}
	}
	var page HistoryPage
	f.get(t, "/api/v1/lifts/"+l[0].ID+"/history?kind=trip&kind=door", &page)
	if len(page.Points) != 3 {
		t.Errorf("history of two kinds: %d", len(page.Points))
	}
}

// TestHistoryAPI: typed points, newest first, paged by cursor, bounded by
// since/until.
func TestHistoryAPI(t *testing.T) {
	f := newFixture(t, nil, nil)
	base := "/api/v1/lifts/" + f.lifts[0].ID + "/history"
	var page HistoryPage
	if code := f.get(t, base+"?limit=3", &page); code != 200 || len(page.Points) != 3 || page.NextCursor == "" {
		t.Fatalf("first page: %d %+v", code, page)
	}
	p := page.Points[0]
	if p.Kind != "trip" || p.Seq != 4 || p.From == nil || *p.From != 1 || p.MaxSpeed == nil || *p.MaxSpeed != 1.5 || p.Floor != nil {
		t.Errorf("newest point: %+v", p)
	}
	var next HistoryPage
	f.get(t, base+"?limit=3&cursor="+page.NextCursor, &next)
	if len(next.Points) != 1 || next.NextCursor != "" || next.Points[0].Seq != 1 {
		t.Errorf("second page: %+v", next)
	}
	f.get(t, base+"?since=2026-09-21T14:13:21Z&until=2026-09-21T14:13:23Z", &page)
	if len(page.Points) != 2 || page.Points[0].Seq != 3 || page.Points[1].Seq != 2 {
		t.Errorf("window: %+v", page.Points)
	}
	resp, b := f.do(t, "GET", "/api/v1/lifts/NOPE/history", "")
	checkError(t, "history of unknown lift", resp, b, 404, "")
}

func TestDeadLettersAndMetrics(t *testing.T) {
	f := newFixture(t, nil, nil)
	var dls []ingest.DeadLetter
	f.get(t, "/api/v1/deadletters", &dls)
	if len(dls) != 3 || dls[0].Reason != telemetry.ReasonBadTopic {
		t.Fatalf("dead letters newest first: %+v", dls)
	}
	f.get(t, "/api/v1/deadletters?reason=malformed_json", &dls)
	if len(dls) != 1 || dls[0].Excerpt != "{bad" {
		t.Fatalf("reason filter: %+v", dls)
	}
	f.do(t, "GET", "/api/v1/lifts/"+f.lifts[0].ID+"/history?kind=bogus", "")
	_, b := f.do(t, "GET", "/metrics", "")
	if !strings.Contains(string(b), `liftwatch_http_requests_total{code="400",route="GET /api/v1/lifts/{id}/history"} 1`) {
		t.Fatalf("request metric missing:\n%s", b)
	}
}

// TestAlertsCarryLiftDetails: list, get and the stream show where the lift
// is and who answers for it.
func TestAlertsCarryLiftDetails(t *testing.T) {
	const phone = "021-6541 2300"
	l := testLifts()[0]
	dir := registry.Contractors{l.Contractor: {Name: l.Contractor, DutyPhone: phone}}
	f := newFixture(t, nil, nil, fixtureOption{deps: func(d *Deps) { d.Contractors = dir }})
	check := func(where string, v AlertView) {
		t.Helper()
		if v.Lift != l.ID || v.Address != l.Address || v.Building != l.Building || v.Unit != l.Unit || v.Contractor != l.Contractor ||
			v.PropertyManager != l.PropertyManager || v.EstateName != l.EstateName || v.Address == "" || v.Severity == "" {
			t.Errorf("%s: lift details missing: %+v", where, v)
		}
		if v.ContractorPhone != phone {
			t.Errorf("%s: contractor_phone %q, want the directory's %q", where, v.ContractorPhone, phone)
		}
	}
	var lv Lift
	f.get(t, "/api/v1/lifts/"+l.ID, &lv)
	if lv.ContractorPhone != phone {
		t.Errorf("lift view: contractor_phone %q, want %q", lv.ContractorPhone, phone)
	}
	var list []map[string]json.RawMessage
	f.get(t, "/api/v1/alerts?lift="+l.ID, &list)
	if len(list) != 1 {
		t.Fatalf("list: %d", len(list))
	}
	var v AlertView
	b, _ := json.Marshal(list[0])
	_ = json.Unmarshal(b, &v)
	check("list", v)
	v = AlertView{}
	f.get(t, "/api/v1/alerts/1", &v)
	check("get", v)
	if len(v.History) == 0 {
		t.Error("get: no history")
	}
	ev := f.stream(t, "", "", func() { f.hub.Handle(alerts.Change{Alert: f.alerts[0], Event: alerts.Event{Action: "repeated"}}) }, 1)
	v = AlertView{}
	_ = json.Unmarshal([]byte(ev[0].data), &struct {
		Alert *AlertView `json:"alert"`
	}{&v})
	check("stream", v)
}

type sse struct{ id, event, data string }

// stream opens the alert stream, runs then (after the stream is
// subscribed), and reads n events.
func (f *fixture) stream(t *testing.T, query, lastID string, then func(), n int) []sse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/alerts/stream"+query, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	// The greeting comment is written after subscribing.
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), ": liftwatch") {
		t.Fatalf("no greeting: %q", sc.Text())
	}
	if then != nil {
		then()
	}
	var out []sse
	var cur sse
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" {
				out = append(out, cur)
			}
			cur = sse{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	if len(out) < n {
		t.Fatalf("stream: %d events, want %d (%v)", len(out), n, sc.Err())
	}
	return out
}

// TestAlertStreamFiltersAndReplay: the stream takes the list's filters,
// numbers every event, replays from Last-Event-ID and says when it cannot.
func TestAlertStreamFiltersAndReplay(t *testing.T) {
	hub := alerts.NewHubSize(4)
	f := newFixture(t, nil, hub)
	a, b := f.alerts[0], f.alerts[3] // estate A, estate B
	change := func(al *alerts.Alert, action string) alerts.Change {
		return alerts.Change{Alert: al, Event: alerts.Event{At: al.OpenedAt, Action: action, Actor: "liftwatch"}}
	}
	// Live, filtered: only estate B's changes, ids are the hub's sequence.
	got := f.stream(t, "?estate="+f.estateB, "", func() {
		hub.Handle(change(a, "repeated"))  // 1
		hub.Handle(change(b, "repeated"))  // 2
		hub.Handle(change(a, "escalated")) // 3
		hub.Handle(change(b, "escalated")) // 4
	}, 2)
	if got[0].id != "2" || got[1].id != "4" || got[0].event != "alert" || !strings.Contains(got[1].data, `"escalated"`) {
		t.Fatalf("filtered stream: %+v", got)
	}
	for _, e := range got {
		var v map[string]any
		if err := json.Unmarshal([]byte(e.data), &v); err != nil {
			t.Fatal(err)
		}
		walk(t, "stream", v)
	}
	// Replay after 2: 3 and 4, then live 5.
	got = f.stream(t, "", "2", func() { hub.Handle(change(a, "comment")) }, 3)
	if got[0].id != "3" || got[1].id != "4" || got[2].id != "5" {
		t.Fatalf("replay after 2: %+v", got)
	}
	// Replay with a filter: only lift a's changes after 1.
	got = f.stream(t, "?lift="+a.Lift+"&type="+a.Type, "2", nil, 2)
	if got[0].id != "3" || got[1].id != "5" {
		t.Fatalf("filtered replay: %+v", got)
	}
	// Too old: the ring holds 2..5; after 0 needs 1. Too new: another run's
	// id, which is not "no longer held" but unknown here.
	for _, tc := range []struct{ last, code, says string }{
		{"0", "expired", "no longer held"},
		{"99", "unknown_id", "ahead of this server"},
	} {
		got = f.stream(t, "", tc.last, nil, 1)
		var reset struct {
			Code, Reason string
			LastEventID  uint64 `json:"last_event_id"`
		}
		if err := json.Unmarshal([]byte(got[0].data), &reset); err != nil {
			t.Fatal(err)
		}
		if got[0].event != "reset" || got[0].id != "5" || reset.LastEventID != 5 || reset.Code != tc.code ||
			!strings.Contains(reset.Reason, tc.says) || !strings.Contains(reset.Reason, "reload") {
			t.Fatalf("Last-Event-ID %s: %+v", tc.last, got)
		}
	}
	resp, body := f.do(t, "GET", "/api/v1/alerts/stream?open=maybe", "")
	checkError(t, "stream bad filter", resp, body, 400, "open")
}

func TestReadiness(t *testing.T) {
	f := newFixture(t, map[string]Check{
		"broker": func(context.Context) error { return errors.New("not connected to tcp://x") },
		"store":  func(context.Context) error { return nil },
	}, nil)
	var out map[string]string
	if code := f.get(t, "/readyz", &out); code != 503 || out["broker"] != "not connected to tcp://x" || out["store"] != "ok" {
		t.Fatalf("readyz: %d %v", code, out)
	}
	if resp, _ := f.do(t, "GET", "/healthz", ""); resp.StatusCode != 200 {
		t.Fatal("healthz")
	}
}

func TestReadinessListsDegradedChecksAndStays200(t *testing.T) {
	f := newFixture(t, map[string]Check{
		"notify": func(context.Context) error { return &DegradedError{Reason: "no receivers configured"} },
		"store":  func(context.Context) error { return nil },
	}, nil)
	var out map[string]string
	if code := f.get(t, "/readyz", &out); code != 200 || out["notify"] != "degraded: no receivers configured" || out["store"] != "ok" {
		t.Fatalf("readyz: %d %v", code, out)
	}
}

// TestUnknownPageForBrowsers: with a not-found page set, a browser's GET
// of an unknown path outside /api/ (Accept: text/html) gets that page;
// paths under /api/, API clients and other methods keep the JSON 404.
func TestUnknownPageForBrowsers(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(Deps{Lifts: registry.NewIndex(testLifts()), States: fakeStates{}, DeadLetters: ingest.NewDeadLetters(1),
		Gatherer: reg, Registerer: reg})
	s.HandleNotFound(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`<p>page not found</p><a href="/">home</a>`))
	}))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	get := func(method, path, accept string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, p := range []string{"/alerts", "/lifts", "/nothing/here"} {
		resp, b := get("GET", p, browser)
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(b), `href="/"`) {
			t.Errorf("browser GET %s: %d %s %s, want the HTML page with a link home", p, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	for _, c := range []struct{ method, path, accept string }{
		{"GET", "/api/v1/nope", browser}, {"GET", "/api", browser}, {"GET", "/alerts", "application/json"},
		{"GET", "/alerts", ""}, {"POST", "/alerts", browser},
	} {
		resp, b := get(c.method, c.path, c.accept)
		checkError(t, c.method+" "+c.path+" "+c.accept, resp, b, 404, "")
	}
}

// TestWeakIfMatchIsRefused (issue 18): If-Match compares strongly, so a
// weak validator W/"1" is a 400 naming If-Match, not a way around the
// version check; an unquoted version is refused too.
func TestWeakIfMatchIsRefused(t *testing.T) {
	f := newFixture(t, nil, nil)
	for _, v := range []string{`W/"1"`, `W/"99"`, `1`, `"1`} {
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/alerts/1/acknowledge", strings.NewReader(`{}`))
		req.Header.Set("If-Match", v)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkError(t, "If-Match "+v, resp, b, 400, "If-Match")
	}
	var a struct{ State string }
	if f.get(t, "/api/v1/alerts/1", &a); a.State != "open" {
		t.Fatalf("a refused If-Match changed the alert: %s", a.State)
	}
}

// TestAPIResponsesAreNotCached (issue 18): every response of a route that
// needs a sign-in, errors and exports included, says Cache-Control:
// no-store; the public health routes do not need to.
func TestAPIResponsesAreNotCached(t *testing.T) {
	f := newFixture(t, nil, nil)
	for _, p := range []string{"/api/v1/lifts", "/api/v1/alerts", "/api/v1/alerts/1", "/api/v1/alerts/999999", "/api/v1/notifications", "/api/v1/reports/rescue?month=2026-03"} {
		resp, b := f.do(t, "GET", p, "")
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s (%d): Cache-Control %q, want no-store\n%.200s", p, resp.StatusCode, got, b)
		}
	}
}
