package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/oncall"
)

// TestPagesRoundTrip: a page and a chain are written and read back whole on
// both backends; a token is spent once; a resolved alert's links expire;
// pending and sending pages are the ones resumed.
func TestPagesRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := db.Pages()
		now := time.Date(2026, 11, 24, 2, 31, 0, 0, time.UTC)
		p := &paging.Page{AlertID: 7, Lift: "JW-0042", Tier: 1, PersonID: "zhang", PersonName: "张师傅", Role: "technician", User: "demo-contractor",
			Lang: "zh", Channel: "sms", To: "13800000001", Subject: "s", Text: "【加装电梯监控】困人", Params: map[string]string{"lift": "JW-0042"},
			State: paging.Pending, NextAt: now, Key: "lwp-1", TokenHash: "h1", TokenExpires: now.Add(24 * time.Hour), CreatedAt: now, UpdatedAt: now}
		if err := r.InsertPage(ctx, p); err != nil || p.ID == 0 {
			t.Fatalf("insert: %v id %d", err, p.ID)
		}
		q := *p
		q.ID = 0
		q.Key, q.TokenHash, q.State = "lwp-2", "h2", paging.Delivered
		if err := r.InsertPage(ctx, &q); err != nil {
			t.Fatal(err)
		}
		p.State, p.Attempts, p.LastError, p.Retryable = paging.Sending, 1, "busy", true
		p.SentAt = &now
		if err := r.UpdatePage(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := r.PageByKey(ctx, "lwp-1")
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Fatalf("read back %+v (%v)\nwant %+v", got, err, p)
		}
		res, err := r.ResumablePages(ctx)
		if err != nil || len(res) != 1 || res[0].ID != p.ID {
			t.Fatalf("resumable %+v %v", res, err)
		}
		if ok, err := r.SpendToken(ctx, "h1", now); !ok || err != nil {
			t.Fatalf("spend: %v %v", ok, err)
		}
		if ok, _ := r.SpendToken(ctx, "h1", now); ok {
			t.Fatal("a token spent twice")
		}
		if ok, _ := r.SpendToken(ctx, "nope", now); ok {
			t.Fatal("an unknown token spent")
		}
		if err := r.ExpireTokens(ctx, 7, now); err != nil {
			t.Fatal(err)
		}
		if ok, _ := r.SpendToken(ctx, "h2", now); ok {
			t.Fatal("a token of a resolved alert spent")
		}
		if x, _ := r.PageByToken(ctx, "h2"); x == nil || !x.TokenExpires.Equal(now) {
			t.Fatalf("by token %+v", x)
		}
		c := &paging.Chain{AlertID: 7, Lift: "JW-0042", Estate: "yixian", Contractor: "上海三菱电梯维保站", Type: "entrapment", Tier: 1,
			People: []paging.Target{{Person: oncall.Person{ID: "zhang", Name: "张师傅", Contacts: []oncall.Contact{{Channel: "sms", To: "1"}}}, Tier: 1, Started: true}},
			NextAt: now.Add(2 * time.Minute), UpdatedAt: now}
		if err := r.SaveChain(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Tier, c.NextAt, c.Failed = 2, time.Time{}, true
		if err := r.SaveChain(ctx, c); err != nil {
			t.Fatal(err)
		}
		cs, err := r.ActiveChains(ctx)
		if err != nil || len(cs) != 1 || !reflect.DeepEqual(&cs[0], c) || !cs[0].NextAt.IsZero() {
			t.Fatalf("chains %+v %v\nwant %+v", cs, err, c)
		}
		c.Done = true
		if err := r.SaveChain(ctx, c); err != nil {
			t.Fatal(err)
		}
		if cs, _ := r.ActiveChains(ctx); len(cs) != 0 {
			t.Fatalf("a done chain is active: %+v", cs)
		}
	})
}
