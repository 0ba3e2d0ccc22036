package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/maintenance"
)

// pacedOrders hands out the store's work orders and, after the first
// `after` of them, waits for release before reading on.
type pacedOrders struct {
	maintenance.Store
	each    WorkOrderStream
	after   int
	release chan struct{}
}

func (p *pacedOrders) EachWorkOrder(ctx context.Context, f maintenance.Filter, fn func(*maintenance.WorkOrder) error) error {
	n := 0
	return p.each.EachWorkOrder(ctx, f, func(o *maintenance.WorkOrder) error {
		if n++; n == p.after+1 {
			select {
			case <-p.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return fn(o)
	})
}

// WorkOrders lists through the same pace (an export that lists first).
func (p *pacedOrders) WorkOrders(ctx context.Context, f maintenance.Filter) ([]*maintenance.WorkOrder, error) {
	var out []*maintenance.WorkOrder
	err := p.EachWorkOrder(ctx, f, func(o *maintenance.WorkOrder) error { out = append(out, o); return nil })
	return out, err
}

// TestWorkOrderExportStreams (issue 17, point 10): the work order export
// writes each order as the store reads it. The store is held after 300 of
// 605 orders until the client has the response and its first line: an
// export that gathered every order before answering would answer nothing
// by then. The whole file then has every order once.
func TestWorkOrderExportStreams(t *testing.T) {
	f := newMaintFixture(t, false)
	ctx := context.Background()
	at := f.clk.Now()
	l := f.lifts[1]
	var ws []*maintenance.WorkOrder
	for i := 0; i < 600; i++ {
		ws = append(ws, &maintenance.WorkOrder{Lift: l.ID, Estate: l.Estate, Kind: maintenance.KindCorrective,
			NeedKey: fmt.Sprintf("corrective/%s/incident/%d", l.ID, i), State: maintenance.StateAssigned, Due: at, WindowStart: at,
			CreatedAt: at, History: []maintenance.Event{{At: at, Action: "created", Actor: "planner", To: maintenance.StateAssigned}}})
	}
	if _, err := f.db.Maintenance().CreateWorkOrders(ctx, ws); err != nil {
		t.Fatal(err)
	}
	p := &pacedOrders{Store: f.svc.Store, each: f.db.Maintenance(), after: 300, release: make(chan struct{})}
	f.svc.Store = p
	defer func() {
		select {
		case <-p.release:
		default:
			close(p.release)
		}
	}()

	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(f.srv.URL + "/api/v1/export/work-orders.csv")
		got <- answer{resp, err}
	}()
	var a answer
	select {
	case a = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the export answered nothing while the store was still reading")
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.resp.Body.Close()
	if a.resp.StatusCode != 200 {
		t.Fatalf("status %d", a.resp.StatusCode)
	}
	br := bufio.NewReader(a.resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != utf8BOM+strings.Join(maintenance.WorkOrderCSVHeader, ",")+"\r\n" {
		t.Fatalf("first line %q (%v)", first, err)
	}
	close(p.release)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(rest))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 605 {
		t.Fatalf("%d orders exported, want 605", len(recs))
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r[0])
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 605 {
		t.Fatal("an order was exported twice")
	}
}
