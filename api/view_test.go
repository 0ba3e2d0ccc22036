package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/clock"
)

// TestTextThatLooksLikeATimeIsUnchanged: timestamps are formatted by the
// view types, so a user's text that happens to be a time comes back exactly
// as written (it used to be rewritten into the timestamp format).
func TestTextThatLooksLikeATimeIsUnchanged(t *testing.T) {
	f := newFixture(t, nil, nil)
	const note = "2026-01-01T00:00:00Z"
	if resp, b := f.do(t, "POST", "/api/v1/alerts/1/comment", `{"note":"`+note+`"}`); resp.StatusCode != 200 {
		t.Fatalf("comment: %d %s", resp.StatusCode, b)
	}
	var a AlertView
	f.get(t, "/api/v1/alerts/1", &a)
	found := false
	for _, e := range a.History {
		if e.Action == "comment" {
			found = true
			if e.Note != note {
				t.Errorf("note %q came back as %q", note, e.Note)
			}
		}
	}
	if !found {
		t.Fatalf("no comment in %+v", a.History)
	}
	body := `{"estate":"` + f.estateA + `","starts_at":"2026-11-24T10:00:00+08:00","ends_at":"2026-11-24T12:00:00+08:00","reason":"` + note + `"}`
	resp, b := f.do(t, "POST", "/api/v1/silences", body)
	var sil SilenceView
	if resp.StatusCode != 201 || json.Unmarshal(b, &sil) != nil {
		t.Fatalf("silence: %d %s", resp.StatusCode, b)
	}
	// The reason is the user's text; the times are ours, in the one format.
	if sil.Reason != note || sil.StartsAt != "2026-11-24T02:00:00.000Z" || sil.EndsAt != "2026-11-24T04:00:00.000Z" {
		t.Errorf("silence: %s", b)
	}
}

// TestDebugEndpoints: the API's handler has no debug endpoints at all; the
// debug handler serves the fake clock and pprof only when enabled.
func TestDebugEndpoints(t *testing.T) {
	f := newFixture(t, nil, nil)
	for _, r := range []struct{ method, path string }{{"POST", "/debug/clock?advance=1m"}, {"GET", "/debug/pprof/"}, {"GET", "/debug/pprof/profile"}} {
		resp, b := f.do(t, r.method, r.path, "")
		checkError(t, "API "+r.method+" "+r.path, resp, b, 404, "")
	}

	fake := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, cst))
	dbg := httptest.NewServer(NewDebug(DebugDeps{FakeClock: fake, Pprof: true}))
	defer dbg.Close()
	resp, err := http.Post(dbg.URL+"/debug/clock?advance=5m", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var now map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&now)
	resp.Body.Close()
	if resp.StatusCode != 200 || now["now"] != "2026-11-24T02:05:00.000Z" {
		t.Fatalf("debug clock: %d %v", resp.StatusCode, now)
	}
	resp, err = http.Post(dbg.URL+"/debug/clock?advance=soon", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("bad advance: %d", resp.StatusCode)
	}
	resp, err = http.Get(dbg.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("pprof on the debug listener: %d", resp.StatusCode)
	}

	off := httptest.NewServer(NewDebug(DebugDeps{}))
	defer off.Close()
	for _, p := range []string{"/debug/clock", "/debug/pprof/"} {
		resp, err := http.Post(off.URL+p, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s with nothing enabled: %d", p, resp.StatusCode)
		}
	}
}

// TestAPIDependsOnTheDomainNotOnStorage enforces the import rule: the API
// reads through its own small interfaces over domain types, so it must not
// depend, even indirectly, on the SQL store, a history implementation or a
// database client.
func TestAPIDependsOnTheDomainNotOnStorage(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to check the imports: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", "github.com/liftwatch/liftwatch/api").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list gave too little to mean anything: %q", deps)
	}
	forbidden := []string{
		"github.com/liftwatch/liftwatch/store",              // the SQL store
		"github.com/liftwatch/liftwatch/history/influx",     // history implementations
		"github.com/liftwatch/liftwatch/history/sqlhistory", //
		"database/sql", // any SQL
		"github.com/influxdata/influxdb-client-go/v2",   // ingest's former sink, InfluxDB's client
		"modernc.org/sqlite", "github.com/jackc/pgx/v5", // database drivers
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("api depends on %s (forbidden: %s)", d, f)
			}
		}
	}
}
