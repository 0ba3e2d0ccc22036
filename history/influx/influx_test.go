package influx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/history/influx"
)

// fakeInflux2 answers like InfluxDB 2.x's /ping and /api/v2/write for
// Prepare: bucket "ok" exists and token "good" may write it, token "reader"
// may not; other buckets do not exist.
func fakeInflux2(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Influxdb-Version", "v2.7.4")
		if r.URL.Path == "/ping" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path != "/api/v2/write" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		q := r.URL.Query()
		switch tok := r.Header.Get("Authorization"); {
		case tok != "Token good" && tok != "Token reader":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":"unauthorized","message":"unauthorized access"}`)
		case q.Get("org") != "acme":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"code":"not found","message":"organization name \"%s\" not found"}`, q.Get("org"))
		case q.Get("bucket") != "ok":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"code":"not found","message":"bucket \"%s\" not found"}`, q.Get("bucket"))
		case tok == "Token reader":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"code":"forbidden","message":"insufficient permissions for write"}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":"invalid","message":"writing requires points"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPrepareInflux2 checks the start-up check's verdicts on InfluxDB 2.x
// answers, each error naming the setting to fix.
func TestPrepareInflux2(t *testing.T) {
	srv := fakeInflux2(t)
	cases := []struct {
		token, org, bucket string
		want               string // "" for success
	}{
		{"good", "acme", "ok", ""},
		{"bad", "acme", "ok", "influx.token"},
		{"reader", "acme", "ok", "influx.token"},
		{"good", "acme", "missing", `influx.bucket "missing"`},
		{"good", "other", "ok", `influx.org "other"`},
	}
	for _, c := range cases {
		s, err := influx.New(influx.Config{URL: srv.URL, Token: c.token, Org: c.org, Bucket: c.bucket})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Prepare(context.Background())
		s.Close()
		var te *history.TargetError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c, err)
		case c.want != "" && (!errors.As(err, &te) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: got %v, want a TargetError mentioning %s", c, err, c.want)
		}
	}
}

// TestPrepareUnreachableIsNotATargetError: a store that cannot be reached is
// not a settings error (serve starts and spools), and Write reports it as a
// plain, retryable error.
func TestPrepareUnreachableIsNotATargetError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s, _ := influx.New(influx.Config{URL: url, Bucket: "x/autogen"})
	defer s.Close()
	err := s.Prepare(context.Background())
	var te *history.TargetError
	if err == nil || errors.As(err, &te) {
		t.Fatalf("unreachable: %v", err)
	}
	err = s.Write(context.Background(), []history.Record{{Line: []byte("m f=1i 1\n")}})
	var se *history.StoreError
	var rej *history.RejectedError
	if err == nil || errors.As(err, &se) || errors.As(err, &rej) {
		t.Fatalf("write to unreachable store: %v", err)
	}
}
