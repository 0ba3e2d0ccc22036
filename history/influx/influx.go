// Package influx is the InfluxDB implementation of history.Store: a writer
// of line protocol (with the target check, Prepare) and an InfluxQL reader.
package influx

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/liftwatch/liftwatch/history"
)

// dataFault says whether an InfluxDB 400/422 answer blames the points
// themselves (1.8: "partial write: field type conflict…", "unable to parse…";
// 2.x: the same texts in the JSON message).
func dataFault(status int, msg string) bool {
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		return false
	}
	m := strings.ToLower(msg)
	return strings.Contains(m, "partial write") || strings.Contains(m, "field type conflict") ||
		strings.Contains(m, "unable to parse")
}

// Config locates InfluxDB. With 1.8 the bucket is "db/retention" and the
// token "user:password" or empty; with 2.x they are the real bucket, org and
// token.
type Config struct {
	URL    string
	Token  string
	Org    string
	Bucket string
}

// Influx is history in InfluxDB. It writes line protocol through influxdb-client-go's HTTP service
// (authentication, error decoding), gzip'd at BestSpeed: at the client's
// default level compression took a fifth of liftwatch's CPU while draining,
// for a few percent better ratio on line protocol.
type Influx struct {
	client influxdb2.Client
	http   http2.Service
	url    string
	cfg    Config

	prepared atomic.Bool
	prepMu   sync.Mutex
	version  string

	mu  sync.Mutex
	buf bytes.Buffer
	gz  *gzip.Writer

	reader *reader
}

var _ history.Store = (*Influx)(nil)

// New makes the store; it does not connect until used.
func New(cfg Config) (*Influx, error) {
	if cfg.URL == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("influx: url and bucket are required")
	}
	opts := influxdb2.DefaultOptions().SetHTTPRequestTimeout(30)
	c := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	q := url.Values{"bucket": {cfg.Bucket}, "precision": {"ns"}}
	if cfg.Org != "" {
		q.Set("org", cfg.Org)
	}
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return &Influx{client: c, http: c.HTTPService(), url: c.HTTPService().ServerAPIURL() + "write?" + q.Encode(), gz: gz, cfg: cfg,
		reader: newReader(cfg)}, nil
}

// Write sends one batch. A 400/422 blaming the points is a RejectedError
// (InfluxDB has then written the valid points of the batch); other client
// errors are the store's (StoreError); 5xx, 408, 429 and network errors are
// plain errors. Before the first write the target is checked (Prepare) if
// that has not succeeded yet.
func (s *Influx) Write(ctx context.Context, recs []history.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if !s.prepared.Load() {
		if err := s.Prepare(ctx); err != nil {
			var te *history.TargetError
			if errors.As(err, &te) {
				return &history.StoreError{Reason: "target", Err: err}
			}
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	s.gz.Reset(&s.buf)
	for i := range recs {
		if _, err := s.gz.Write(recs[i].Line); err != nil {
			return fmt.Errorf("influx write: gzip: %w", err)
		}
	}
	if err := s.gz.Close(); err != nil {
		return fmt.Errorf("influx write: gzip: %w", err)
	}
	return classify(s.post(ctx, bytes.NewReader(s.buf.Bytes()), true))
}

func (s *Influx) post(ctx context.Context, body io.Reader, gzipped bool) *http2.Error {
	return s.http.DoPostRequest(ctx, s.url, body, func(req *http.Request) {
		if gzipped {
			req.Header.Set("Content-Encoding", "gzip")
		}
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}, func(resp *http.Response) error {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
}

// classify turns a write answer into the error kinds above.
func classify(he *http2.Error) error {
	if he == nil {
		return nil
	}
	msg := errMessage(he)
	switch st := he.StatusCode; {
	case st == 0:
		return fmt.Errorf("influx write: %w", he)
	case st >= 500 || st == http.StatusTooManyRequests || st == http.StatusRequestTimeout:
		return fmt.Errorf("influx write: HTTP %d: %w", st, he)
	case dataFault(st, msg):
		return &history.RejectedError{Status: st, Msg: msg}
	case st == http.StatusUnauthorized:
		return &history.StoreError{Status: st, Reason: "unauthorized", Err: fmt.Errorf("influx write: HTTP %d, credentials refused (check influx.token): %w", st, he)}
	case st == http.StatusForbidden:
		return &history.StoreError{Status: st, Reason: "forbidden", Err: fmt.Errorf("influx write: HTTP %d, not allowed to write (check influx.token): %w", st, he)}
	case st == http.StatusNotFound:
		return &history.StoreError{Status: st, Reason: "not_found", Err: fmt.Errorf("influx write: HTTP %d, target not found (check influx.bucket, influx.org): %w", st, he)}
	case st == http.StatusRequestEntityTooLarge:
		return &history.StoreError{Status: st, Reason: "too_large", Err: fmt.Errorf("influx write: HTTP %d, request too large: %w", st, he)}
	case st >= 400:
		return &history.StoreError{Status: st, Reason: "client_error", Err: fmt.Errorf("influx write: HTTP %d: %w", st, he)}
	}
	return fmt.Errorf("influx write: %w", he)
}

// errMessage is the store's own words: InfluxDB 1.8 puts them in
// X-Influxdb-Error (its JSON body does not decode into the client's error).
func errMessage(he *http2.Error) string {
	if he.Header != nil {
		if m := he.Header.Get("X-Influxdb-Error"); m != "" {
			return m
		}
	}
	if he.Message != "" {
		return he.Message
	}
	return he.Error()
}

// Prepare makes sure the configured target exists and can be written. It
// tells InfluxDB 1.x from 2.x by /ping's X-Influxdb-Version header (or
// /health). On 1.x it creates the database when it is missing and the
// retention policy is the default ("db", "db/" or "db/autogen"); on 2.x it
// checks the bucket exists and the token may write to it. Both are checked by
// an empty write, which stores nothing. A *history.TargetError names the setting to
// fix; any other error means the store could not be asked (Write asks again).
func (s *Influx) Prepare(ctx context.Context) error {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.prepared.Load() {
		return nil
	}
	ver, err := s.serverVersion(ctx)
	if err != nil {
		return err
	}
	s.version = ver
	major := majorVersion(ver)
	he := s.post(ctx, bytes.NewReader(nil), false)
	// A development build says "unknown"; 1.x's wording tells it then.
	if major != 2 && he != nil && he.StatusCode == http.StatusNotFound && strings.Contains(errMessage(he), "database not found") {
		db, rp, _ := strings.Cut(s.cfg.Bucket, "/")
		if rp != "" && rp != "autogen" {
			return &history.TargetError{Msg: fmt.Sprintf("influx.bucket %q: database %q does not exist on InfluxDB %s at %s; create it with retention policy %q, or use %q",
				s.cfg.Bucket, db, ver, s.cfg.URL, rp, db+"/autogen")}
		}
		if err := s.query(ctx, "CREATE DATABASE "+quoteIdent(db)); err != nil {
			var te *history.TargetError
			if errors.As(err, &te) {
				return &history.TargetError{Msg: fmt.Sprintf("influx.bucket %q: database %q does not exist on InfluxDB %s at %s and creating it failed (%s); create it, or give influx.token admin rights",
					s.cfg.Bucket, db, ver, s.cfg.URL, te.Msg)}
			}
			return err
		}
		he = s.post(ctx, bytes.NewReader(nil), false)
	}
	if he == nil || (he.StatusCode == http.StatusBadRequest && strings.Contains(errMessage(he), "writing requires points")) {
		s.prepared.Store(true)
		return nil
	}
	msg := errMessage(he)
	switch st := he.StatusCode; {
	case st == 0 || st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable || st == http.StatusRequestTimeout:
		return fmt.Errorf("influx at %s (influx.url): %w", s.cfg.URL, he)
	case st == http.StatusUnauthorized:
		return &history.TargetError{Msg: fmt.Sprintf("influx.token: InfluxDB %s at %s refused the credentials: %s", ver, s.cfg.URL, msg)}
	case st == http.StatusForbidden:
		return &history.TargetError{Msg: fmt.Sprintf("influx.token: may not write to influx.bucket %q on InfluxDB %s at %s: %s", s.cfg.Bucket, ver, s.cfg.URL, msg)}
	case st == http.StatusNotFound && strings.Contains(strings.ToLower(msg), "organization"):
		return &history.TargetError{Msg: fmt.Sprintf("influx.org %q: not found on InfluxDB %s at %s: %s", s.cfg.Org, ver, s.cfg.URL, msg)}
	case st == http.StatusNotFound:
		return &history.TargetError{Msg: fmt.Sprintf("influx.bucket %q: not found on InfluxDB %s at %s (org %q): %s", s.cfg.Bucket, ver, s.cfg.URL, s.cfg.Org, msg)}
	case strings.Contains(msg, "retention policy not found"):
		db, rp, _ := strings.Cut(s.cfg.Bucket, "/")
		return &history.TargetError{Msg: fmt.Sprintf("influx.bucket %q: retention policy %q does not exist on database %q (InfluxDB %s at %s); create it, or use %q",
			s.cfg.Bucket, rp, db, ver, s.cfg.URL, db+"/autogen")}
	case st >= 500:
		return fmt.Errorf("influx at %s (influx.url): %w", s.cfg.URL, he)
	}
	return &history.TargetError{Msg: fmt.Sprintf("influx.bucket %q: InfluxDB %s at %s refused a test write: %s", s.cfg.Bucket, ver, s.cfg.URL, msg)}
}

// Version is the server version Prepare found ("" before).
func (s *Influx) Version() string {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	return s.version
}

func (s *Influx) serverVersion(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL()+"/ping", nil)
	if err != nil {
		return "", fmt.Errorf("influx.url %q: %w", s.cfg.URL, err)
	}
	resp, err := s.http.DoHTTPRequestWithResponse(req, nil)
	if err != nil {
		return "", fmt.Errorf("influx at %s (influx.url): %w", s.cfg.URL, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if v := resp.Header.Get("X-Influxdb-Version"); v != "" {
		return v, nil
	}
	h, err := s.client.Health(ctx)
	if err != nil || h == nil || h.Version == nil {
		return "", fmt.Errorf("influx at %s (influx.url): cannot tell the InfluxDB version (no X-Influxdb-Version on /ping, /health: %v)", s.cfg.URL, err)
	}
	return *h.Version, nil
}

func (s *Influx) baseURL() string { return strings.TrimRight(s.http.ServerURL(), "/") }

func majorVersion(v string) int {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	head, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(head)
	if err != nil {
		return 0
	}
	return n
}

func quoteIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// query runs an InfluxQL statement on 1.x. A refusal is a *history.TargetError.
func (s *Influx) query(ctx context.Context, q string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.baseURL()+"/query?"+url.Values{"q": {q}}.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := s.http.DoHTTPRequestWithResponse(req, nil)
	if err != nil {
		return fmt.Errorf("influx at %s (influx.url): %w", s.cfg.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 500 {
		return fmt.Errorf("influx at %s (influx.url): %s: %s", s.cfg.URL, resp.Status, b)
	}
	if resp.StatusCode != http.StatusOK {
		return &history.TargetError{Msg: fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))}
	}
	// A statement error comes with 200 and {"results":[{"error":…}]}.
	if i := bytes.Index(b, []byte(`"error":`)); i >= 0 {
		return &history.TargetError{Msg: strings.TrimSpace(string(b))}
	}
	return nil
}

// Ping checks InfluxDB answers.
func (s *Influx) Ping(ctx context.Context) error {
	ok, err := s.client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("influx ping: %w", err)
	}
	if !ok {
		return errors.New("influx ping: not ready")
	}
	return nil
}

// Close releases the client.
func (s *Influx) Close() { s.client.Close() }
