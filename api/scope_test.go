package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
)

// dir is the fixture's identity.Directory: the register, every estate in
// subdistrict "sd".
type dir struct{ lifts []registry.Lift }

func (d dir) LiftScope(_ context.Context, id string) (identity.LiftScope, error) {
	for _, l := range d.lifts {
		if l.ID == id {
			return identity.LiftScope{Estate: l.Estate, Contractor: l.Contractor, Subdistrict: "sd"}, nil
		}
	}
	return identity.LiftScope{}, identity.ErrNotFound
}

func (d dir) EstateSubdistrict(context.Context, string) (string, error) { return "sd", nil }

// asActor puts the actor named by the X-Test-Actor header (a role) in the
// request: the identity middleware's job in the service.
func asActor(actors map[string]identity.Actor) fixtureOption {
	return fixtureOption{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a, ok := actors[r.Header.Get("X-Test-Actor")]; ok {
				r = r.WithContext(identity.WithActor(r.Context(), a))
			}
			h.ServeHTTP(w, r)
		})
	}}
}

// TestPagination: every list is an array in pages of limit, the next page
// in the Link header (absent on the last), no item twice or lost; a
// cursor the list did not give is a 400 naming it.
func TestPagination(t *testing.T) {
	f := newFixture(t, nil, nil)
	for _, tc := range []struct {
		path string
		key  string
		all  int
	}{
		{"/api/v1/lifts?limit=2", "id", 5},
		{"/api/v1/alerts?limit=2", "id", 5},
		{"/api/v1/alerts?limit=1&estate=" + f.estateA, "id", 3},
		{"/api/v1/notifications?limit=2", "id", 3},
		{"/api/v1/deadletters?limit=2", "seq", 3},
		{"/api/v1/silences?limit=1", "id", 1},
	} {
		seen := map[string]bool{}
		path, pages := tc.path, 0
		for path != "" {
			resp, b := f.do(t, "GET", path, "")
			var items []map[string]any
			if resp.StatusCode != 200 || json.Unmarshal(b, &items) != nil {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
			}
			pages++
			for _, it := range items {
				k := fmt.Sprint(it[tc.key])
				if seen[k] {
					t.Errorf("%s: %s %s twice", tc.path, tc.key, k)
				}
				seen[k] = true
			}
			path = ""
			if link := resp.Header.Get("Link"); link != "" {
				if !strings.HasPrefix(link, "</api/v1/") || !strings.HasSuffix(link, `>; rel="next"`) || !strings.Contains(link, "cursor=") {
					t.Fatalf("%s: Link %q", tc.path, link)
				}
				path = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			}
			if pages > 10 {
				t.Fatalf("%s: no end", tc.path)
			}
		}
		if len(seen) != tc.all {
			t.Errorf("%s: %d items over %d pages, want %d", tc.path, len(seen), pages, tc.all)
		}
	}
	for _, p := range []string{"/api/v1/lifts?cursor=NOPE", "/api/v1/alerts?cursor=x", "/api/v1/notifications?cursor=-1",
		"/api/v1/deadletters?cursor=x", "/api/v1/silences?cursor=x", "/api/v1/lifts?limit=1001", "/api/v1/alerts?limit=0"} {
		resp, b := f.do(t, "GET", p, "")
		field := "cursor"
		if strings.Contains(p, "limit") {
			field = "limit"
		}
		checkError(t, p, resp, b, 400, field)
	}
}

// TestStreamsShowOnlyWhatTheActorMayRead: the lift stream and the alert
// stream leave out lifts out of the actor's scope; the lift stream sends a
// lift once per flush however often it changed.
func TestStreamsShowOnlyWhatTheActorMayRead(t *testing.T) {
	lifts := testLifts()
	var ids []string
	for _, l := range lifts {
		ids = append(ids, l.ID)
	}
	feed := liftstate.NewFeed(ids)
	actors := map[string]identity.Actor{
		"manager": {UserID: 1, Name: "wang", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{lifts[0].Estate}}},
	}
	f := newFixture(t, nil, nil, fixtureOption{deps: func(d *Deps) {
		d.Auth = &AuthDeps{Authorizer: identity.Authorizer{Dir: dir{lifts}}}
		d.LiftFeed = feed
	}}, asActor(actors))

	// Lift stream: a change of estate B's lift is not sent; estate A's is, once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/lifts/stream", nil)
	req.Header.Set("X-Test-Actor", "manager")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("lift stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	n, _ := resp.Body.Read(buf) // the greeting: subscribed
	if !strings.Contains(string(buf[:n]), "liftwatch lift stream") {
		t.Fatalf("greeting: %q", buf[:n])
	}
	for i := 0; i < 100; i++ {
		feed.Mark(lifts[4].ID) // estate B
		feed.Mark(lifts[0].ID) // estate A
	}
	feed.Flush()
	var got strings.Builder
	for !strings.Contains(got.String(), "\n\n") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("lift stream: %v after %q", err, got.String())
		}
		got.Write(buf[:n])
	}
	ev := got.String()
	if strings.Count(ev, "event: lift") != 1 || !strings.Contains(ev, `"id":"`+lifts[0].ID+`"`) || strings.Contains(ev, lifts[4].ID) {
		t.Fatalf("lift stream sent %q; want only %s, once", ev, lifts[0].ID)
	}

	// Alert stream: estate B's change is left out, estate A's sent.
	events := f.streamAs(t, "manager", func() {
		f.hub.Handle(alerts.Change{Alert: f.alerts[4], Event: alerts.Event{Action: "repeated"}})
		f.hub.Handle(alerts.Change{Alert: f.alerts[1], Event: alerts.Event{Action: "repeated"}})
	})
	if !strings.Contains(events, `"lift":"`+lifts[1].ID+`"`) || strings.Contains(events, lifts[4].ID) {
		t.Fatalf("alert stream sent %q", events)
	}
	// And the alert list is narrowed the same way.
	var list []AlertView
	r2, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/alerts", nil)
	r2.Header.Set("X-Test-Actor", "manager")
	resp2, err := http.DefaultClient.Do(r2)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp2.Body).Decode(&list)
	resp2.Body.Close()
	if len(list) != 3 {
		t.Fatalf("manager of estate A sees %d alerts, want its 3", len(list))
	}
	for _, a := range list {
		if a.Estate != lifts[0].Estate {
			t.Errorf("manager of estate A sees alert %d of %s", a.ID, a.Estate)
		}
	}
}

// streamAs opens the alert stream as the test actor, runs then, and
// returns what arrived up to the first event.
func (f *fixture) streamAs(t *testing.T, actor string, then func()) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/alerts/stream", nil)
	req.Header.Set("X-Test-Actor", actor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("alert stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	n, _ := resp.Body.Read(buf)
	if !strings.Contains(string(buf[:n]), "liftwatch alert stream") {
		t.Fatalf("greeting: %q", buf[:n])
	}
	then()
	var got strings.Builder
	for !strings.Contains(got.String(), "event: alert") || !strings.Contains(got.String()[strings.Index(got.String(), "event: alert"):], "\n\n") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("alert stream: %v after %q", err, got.String())
		}
		got.Write(buf[:n])
	}
	return got.String()
}
