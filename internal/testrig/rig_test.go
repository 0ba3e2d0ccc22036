package testrig

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestInfluxDBWriteCountRestart(t *testing.T) {
	db := StartInfluxDB(t)
	ctx := context.Background()
	body := "trip,lift=A1,estate=e seq=1i 1000000\ntrip,lift=A1,estate=e seq=2i 2000000\ntrip,lift=A1,estate=e seq=2i 2000000\n"
	resp, err := http.Post(db.URL+"/api/v2/write?bucket="+db.Bucket+"&precision=ns", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("v2 write: %s", resp.Status)
	}
	db.Stop()
	db.Start()
	n, err := db.Count(ctx, "trip")
	if err != nil || n != 2 {
		t.Fatalf("count after restart = %d, %v (want 2: same point twice is one point)", n, err)
	}
}

func TestMosquittoRestart(t *testing.T) {
	m := StartMosquitto(t, MosquittoOptions{})
	m.Stop()
	m.Start()
	if err := dialReady(m.Addr)(context.Background()); err != nil {
		t.Fatal(err)
	}
}
