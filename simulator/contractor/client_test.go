package contractor_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/liftwatch/liftwatch/simulator/contractor"
)

// TestClientSpeaksTheContract: a unit test of the client's own logic
// against canned answers in the API's shapes: the token goes as Bearer,
// lists follow Link rel="next" pages, a 409 is a ConflictError with the
// current state, a 404 ErrNotFound, a 400 names its field; bodies are the
// contract's JSON.
func TestClientSpeaksTheContract(t *testing.T) {
	var bodies []map[string]any
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/work-orders", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("contractor") != company || r.URL.Query().Get("state") != "assigned" {
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("cursor") == "" {
			w.Header().Set("Link", `</api/v1/work-orders?state=assigned&contractor=`+r.URL.Query().Get("contractor")+`&cursor=2>; rel="next"`)
			w.Write([]byte(`[{"id":1,"lift":"JW-0001","kind":"routine","level":"half_monthly","state":"assigned","contractor":"` + company + `","window_start":"2027-03-01T00:00:00.000Z","due":"2027-03-04T16:00:00.000Z"}]`))
			return
		}
		w.Write([]byte(`[{"id":2,"lift":"JW-0002","kind":"corrective","state":"assigned","window_start":"2027-03-01T00:00:00.000Z","due":"2027-03-02T00:00:00.000Z"}]`))
	})
	mux.HandleFunc("POST /api/v1/work-orders/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Error(err)
		}
		bodies = append(bodies, b)
		w.Header().Set("Content-Type", "application/json")
		switch r.PathValue("id") {
		case "1":
			w.Write([]byte(`{"id":1,"lift":"JW-0001","kind":"routine","state":"in_progress","window_start":"2027-03-01T00:00:00.000Z","due":"2027-03-04T16:00:00.000Z"}`))
		case "2":
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error":{"code":"conflict","message":"cannot start in state completed","state":"completed"}}`))
		case "3":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":{"code":"invalid","message":"technician is required","field":"technician"}}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"not_found","message":"no such work order"}}`))
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer lwt_secret" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"unauthenticated","message":"sign in"}}`))
			return
		}
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &contractor.Client{Base: srv.URL, Token: "lwt_secret"}

	ws, err := c.WorkOrders(ctx, company, "assigned")
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].ID != 1 || ws[1].ID != 2 || ws[0].Level != "half_monthly" || ws[0].Due.IsZero() {
		t.Fatalf("listed %+v, want both pages", ws)
	}
	w, err := c.Start(ctx, 1, "王建国")
	if err != nil || w.State != "in_progress" {
		t.Fatalf("start: %+v, %v", w, err)
	}
	if bodies[0]["technician"] != "王建国" {
		t.Errorf("start body %v", bodies[0])
	}
	if _, err := c.Complete(ctx, 1, contractor.Completion{Findings: "ok", PartsFen: 1200, Signature: "王建国"}); err != nil {
		t.Fatal(err)
	}
	if b := bodies[1]; b["parts_fen"] != 1200.0 || b["labour_fen"] != 0.0 || b["signature"] != "王建国" || b["findings"] != "ok" {
		t.Errorf("complete body %v", b)
	}
	if _, err := c.RecordChecklist(ctx, 1, []contractor.Result{{Item: "H05", Result: "pass", Value: "0.4 mm", Photo: "photo:x/1/H05.jpg"}}); err != nil {
		t.Fatal(err)
	}
	rs, _ := bodies[2]["results"].([]any)
	if len(rs) != 1 || rs[0].(map[string]any)["item"] != "H05" || rs[0].(map[string]any)["value"] != "0.4 mm" {
		t.Errorf("checklist body %v", bodies[2])
	}
	var ce *contractor.ConflictError
	if _, err := c.Start(ctx, 2, "x"); !errors.As(err, &ce) || ce.Current != "completed" {
		t.Errorf("409: %v, want a conflict in state completed", err)
	}
	var se *contractor.StatusError
	if _, err := c.Start(ctx, 3, ""); !errors.As(err, &se) || se.Status != 400 || se.Field != "technician" {
		t.Errorf("400: %v, want the field named", err)
	}
	if _, err := c.Start(ctx, 4, "x"); !errors.Is(err, contractor.ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	bad := &contractor.Client{Base: srv.URL, Token: "lwt_wrong"}
	if _, err := bad.WorkOrders(ctx, company, "assigned"); !errors.As(err, &se) || se.Status != 401 {
		t.Errorf("wrong token: %v", err)
	}
}
