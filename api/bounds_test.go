package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/fund"
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
// it cannot serve (dates no ledger reaches, more than five years), and at
// most MaxConcurrentReports run at once: a further one answers 503 with
// Retry-After once it has waited, while cheap reads go on answering.
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
	for range MaxConcurrentReports {
		go func() { c, _, h := get(rec + "?from=2026-01-01&to=2026-12-31"); done <- answer{c, h} }()
		<-bf.started
	}
	code, body, hdr := get(rec + "?from=2026-01-01&to=2026-12-31")
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "busy") {
		t.Fatalf("a third report while two run: %d %q %s", code, hdr.Get("Retry-After"), body)
	}
	if code, body, _ := get(srv.URL + "/api/v1/lifts"); code != 200 {
		t.Fatalf("a cheap read while reports run: %d %s", code, body)
	}
	close(bf.release)
	for range MaxConcurrentReports {
		if a := <-done; a.code != 200 {
			t.Fatalf("a running report: %d", a.code)
		}
	}
	go func() { <-bf.started }()
	if code, body, _ := get(rec + "?from=2026-01-01&to=2026-12-31"); code != 200 {
		t.Fatalf("once they are done: %d %s", code, body)
	}
}
