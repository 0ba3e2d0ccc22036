package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// Sink is where spooled records go: the time-series store.
type Sink interface {
	// Write stores records. Writing the same record twice must be harmless.
	Write(ctx context.Context, recs []Record) error
	// Ping says whether the store is reachable.
	Ping(ctx context.Context) error
}

// PermanentError is a write failure that retrying cannot fix: the store
// refused the data itself.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// InfluxConfig locates InfluxDB. With 1.8 the bucket is "db/retention" and the
// token "user:password" or empty; with 2.x they are the real bucket, org and
// token.
type InfluxConfig struct {
	URL    string
	Token  string
	Org    string
	Bucket string
}

// InfluxSink writes line protocol through influxdb-client-go, gzip'd.
type InfluxSink struct {
	client influxdb2.Client
	write  api.WriteAPIBlocking
}

// NewInfluxSink makes a sink; it does not connect until used.
func NewInfluxSink(cfg InfluxConfig) (*InfluxSink, error) {
	if cfg.URL == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("influx: url and bucket are required")
	}
	opts := influxdb2.DefaultOptions().SetUseGZip(true).SetHTTPRequestTimeout(30)
	c := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	return &InfluxSink{client: c, write: c.WriteAPIBlocking(cfg.Org, cfg.Bucket)}, nil
}

// Write sends one batch. Client errors other than 429 are permanent (the
// store refused these points; InfluxDB has written the rest of a partial
// write); everything else is worth retrying.
func (s *InfluxSink) Write(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	n := 0
	for i := range recs {
		n += len(recs[i].Line)
	}
	var b strings.Builder
	b.Grow(n)
	for i := range recs {
		b.Write(recs[i].Line)
	}
	err := s.write.WriteRecord(ctx, b.String())
	if err == nil {
		return nil
	}
	var he *http2.Error
	if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 &&
		he.StatusCode != http.StatusTooManyRequests && he.StatusCode != http.StatusRequestTimeout {
		return &PermanentError{Err: fmt.Errorf("influx write: %w", err)}
	}
	return fmt.Errorf("influx write: %w", err)
}

// Ping checks InfluxDB answers.
func (s *InfluxSink) Ping(ctx context.Context) error {
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
func (s *InfluxSink) Close() { s.client.Close() }
