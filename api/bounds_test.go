package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/registry"
)

// blockingFund's reconciliations wait until release is closed, telling
// started as each begins.
type blockingFund struct {
	FundReader
	started chan struct{}
	release chan struct{}
}

func (b blockingFund) Reconcile(ctx context.Context, lift string, from, to civil.Date) (*fund.Reconciliation, error) {
	b.started <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return &fund.Reconciliation{Lift: lift, From: from, To: to}, nil
}

func (blockingFund) Households(context.Context, string) ([]fund.Household, error) { return nil, nil }

// TestReportsAreBounded (issue 18, finding 3): a report refuses a period
// it cannot serve (dates no ledger reaches, more than five years); one user
// runs at most MaxReportsPerActor at once (a third: 429), and the service
// at most MaxConcurrentReports (a further one answers 503 with Retry-After
// once it has waited), while cheap reads go on answering.
func TestReportsAreBounded(t *testing.T) {
	lifts := testLifts()
	bf := blockingFund{started: make(chan struct{}, 8), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	s := New(Deps{Lifts: registry.NewIndex(lifts), States: fakeStates{}, DeadLetters: ingest.NewDeadLetters(1), Gatherer: reg, Registerer: reg,
		Fund: &FundDeps{Read: bf, Now: time.Now}, ReportWait: 50 * time.Millisecond})
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := srv.URL + "/api/v1/lifts/" + lifts[0].ID + "/fund/reconciliation"
	get := func(url string) (int, string, http.Header) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String(), resp.Header
	}
	for _, tc := range []struct{ q, field, msg string }{
		{"?from=0001-01-01&to=9999-12-31", "from", "outside 2000-01-01..2099-12-31"},
		{"?from=2020-01-01&to=2030-12-31", "to", "at most 1827 days"},
	} {
		code, body, _ := get(rec + tc.q)
		if code != 400 || !strings.Contains(body, `"field": "`+tc.field+`"`) || !strings.Contains(body, tc.msg) {
			t.Errorf("reconciliation %s: %d %s", tc.q, code, body)
		}
	}

	type answer struct {
		code int
		hdr  http.Header
	}
	done := make(chan answer, 3)
	// One user (here every request is the same actor): two reports at
	// once, a third is that user's too many (429), and cheap reads go on.
	for range MaxReportsPerActor {
		go func() { c, _, h := get(rec + "?from=2026-01-01&to=2026-12-31"); done <- answer{c, h} }()
		<-bf.started
	}
	code, body, hdr := get(rec + "?from=2026-01-01&to=2026-12-31")
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || !strings.Contains(body, "busy") {
		t.Fatalf("a user's third report while two run: %d %q %s", code, hdr.Get("Retry-After"), body)
	}
	if code, body, _ := get(srv.URL + "/api/v1/lifts"); code != 200 {
		t.Fatalf("a cheap read while reports run: %d %s", code, body)
	}
	close(bf.release)
	for range MaxReportsPerActor {
		if a := <-done; a.code != 200 {
			t.Fatalf("a running report: %d", a.code)
		}
	}
	// All users: with the service's places taken (here: one), the next
	// waits, then answers 503.
	s.reports = make(chan struct{}, 1)
	s.reports <- struct{}{}
	if code, body, hdr := get(rec + "?from=2026-01-01&to=2026-12-31"); code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("a report while the service's places are taken: %d %q %s", code, hdr.Get("Retry-After"), body)
	}
	<-s.reports
	go func() { <-bf.started }()
	if code, body, _ := get(rec + "?from=2026-01-01&to=2026-12-31"); code != 200 {
		t.Fatalf("once they are done: %d %s", code, body)
	}
}

// TestFundErrorsNameTheirField (issue 18 trial): a refusal about a date or
// a source names that field, not amount_fen.
func TestFundErrorsNameTheirField(t *testing.T) {
	for msg, want := range map[string]string{
		"date: the expense's date 0001-01-01 is before lift L1's hand-over on 2025-06-01": "date",
		"source_id: no work_order 7 of lift L1":                                           "source_id",
		"expense of 0 fen: want 1..1000000000":                                            "amount_fen",
	} {
		w := httptest.NewRecorder()
		(&Server{d: Deps{}}).fundError(w, fmt.Errorf("%w: %s", fund.ErrInvalid, msg), "amount_fen")
		if !strings.Contains(w.Body.String(), `"field": "`+want+`"`) {
			t.Errorf("%q answered %s, want field %s", msg, w.Body.String(), want)
		}
	}
}

// TestFiltersDoNotTellWhichIdsExist (issue 18 trial): for a user who does
// not see the whole register, a list filtered to a lift that does not
// exist answers as one filtered to a lift out of their scope: an empty
// list. An admin's typo is still a 400.
func TestFiltersDoNotTellWhichIdsExist(t *testing.T) {
	f := newMaintFixture(t, true)
	f.actors["mgrA"] = identity.Actor{UserID: 1, Name: "mgr.a", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{f.estateA}}}
	f.actors["admin"] = identity.Actor{UserID: 4, Name: "root", Role: identity.RoleAdmin}
	var outside string
	for _, l := range f.lifts {
		if l.Estate != f.estateA {
			outside = l.ID
		}
	}
	for _, path := range []string{"/api/v1/work-orders?lift="} {
		r1, b1 := f.req(t, "mgrA", "GET", path+"NOPE-9999", "", "")
		r2, b2 := f.req(t, "mgrA", "GET", path+outside, "", "")
		if r1.StatusCode != 200 || r2.StatusCode != 200 || strings.TrimSpace(string(b1)) != "[]" || strings.TrimSpace(string(b2)) != "[]" {
			t.Errorf("%s: unknown %d %s, out of scope %d %s; want both 200 []", path, r1.StatusCode, b1, r2.StatusCode, b2)
		}
		if r, b := f.req(t, "admin", "GET", path+"NOPE-9999", "", ""); r.StatusCode != 400 {
			t.Errorf("%s as admin: %d %s, want 400", path, r.StatusCode, b)
		}
	}
}
