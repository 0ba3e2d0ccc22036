package main

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/liftwatch/liftwatch/history"
	influxhistory "github.com/liftwatch/liftwatch/history/influx"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// TestServeHistoryFromInfluxDB: with InfluxDB as the store, serve answers
// /api/v1/lifts/{id}/history from it (it used to answer 501).
func TestServeHistoryFromInfluxDB(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(t)
	fleet, _ := registry.Jiangwan()
	lift := fleet[0]
	sink, err := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: influx.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var recs []history.Record
	for i := int64(1); i <= 3; i++ {
		m := telemetry.Message{Kind: telemetry.KindTrip, Lift: lift.ID, Boot: 1, Seq: i, TS: 1790000000000 + i*1000, From: 1, To: int(i + 1),
			DurationMS: 5000, MaxSpeed: 1}
		recs = append(recs, history.Record{Kind: m.Kind, Lift: m.Lift, Boot: 1, Seq: i, PointNS: m.PointTime(), Line: telemetry.AppendLine(nil, &m, lift.Estate)})
	}
	if err := sink.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, broker, influx, t.TempDir())
	resp, err := authGet("http://"+p.http, "/api/v1/lifts/"+lift.ID+"/history?kind=trip&limit=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var page struct {
		Points []struct {
			Seq  int64  `json:"seq"`
			To   *int64 `json:"to"`
			Time string `json:"time"`
		} `json:"points"`
		Next string `json:"next_cursor"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil || len(page.Points) != 2 || page.Points[0].Seq != 3 ||
		page.Points[0].To == nil || *page.Points[0].To != 4 || page.Points[0].Time != "2026-09-21T14:13:23.000Z" || page.Next == "" {
		t.Fatalf("history from InfluxDB: %d %s", resp.StatusCode, b)
	}
}
