package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/telemetry"
	"github.com/liftwatch/liftwatch/web"
)

// The role × route matrix (issue 11): every route of the fully wired
// service (serve's, plus the demo's) is tried by every role with an object
// in the role's scope and one out of it, and the answer must be allow or
// deny as the table says. A route missing from the table, or a row for a
// route that does not exist, fails the test: a new route must be decided
// here, one row each.

// The world of the matrix: JW-0042 (estate yixian, 上海三菱电梯维保站) is in
// every scoped account's scope; JW-0063 (estate guyuan, 迅达, moved to the
// subdistrict "wusong") is in none.
const (
	inLift  = "JW-0042"
	outLift = "JW-0063"
)

// who is a set of roles; "anonymous" is the caller without credentials.
type who []string

var (
	everyone  = who{"anonymous", "admin", "manager", "contractor", "owner", "subdistrict"}
	signedIn  = who{"admin", "manager", "contractor", "owner", "subdistrict"}
	readers   = who{"admin", "manager", "contractor", "owner", "subdistrict"} // read_lift
	alertSeen = who{"admin", "manager", "contractor", "subdistrict"}          // read_alert
	actors    = who{"admin", "manager", "contractor"}                         // act_alert
	managers  = who{"admin", "manager"}                                       // manage_silence, sign_off_work_order, write_fund
	reporters = who{"admin", "manager", "subdistrict"}                        // read_reports, read_supervision; read_fund of a whole lift
	woReaders = who{"admin", "manager", "contractor", "subdistrict"}          // read_work_order
	writers   = who{"admin", "contractor"}                                    // write_work_order
	fundSeen  = who{"admin", "manager", "owner", "subdistrict"}               // read_fund of a household (the owner: their own)
	admins    = who{"admin"}
)

// kind says how a row's out-of-scope request is judged.
type kind int

const (
	object    kind = iota // a route about one object: out of scope is a 404 for all but admin, as an unknown object is
	list                  // a list or stream filtered to the object out of scope: allowed, and empty
	listNot               // a list whose filter also takes objects in scope: allowed, without the out-of-scope lift
	listMaybe             // as list, but the admin's answer may be empty too (no such items in the world yet)
	none                  // no object: the out-of-scope request is not made
)

// call is one request; path may depend on the world (ids made at setup).
type call struct {
	method string
	path   func(w *world) string
	body   string
	// asRole, if set, is the path for the caller's role (their own
	// account, a token of theirs); path is then unused.
	asRole func(w *world, role string) string
}

// pathFor is c's path for a caller of role.
func (c call) pathFor(w *world, role string) string {
	if c.asRole != nil {
		return c.asRole(w, role)
	}
	return c.path(w)
}

// userCall is a call on an account: the caller's own (own) or another's.
func userCall(method, body string, path func(w *world, role string) string) call {
	return call{method: method, body: body, asRole: path}
}

// ownAccount is the caller's account (the admin's for anonymous) and what
// follows it.
func ownAccount(rest string) func(w *world, role string) string {
	return func(w *world, role string) string {
		id, ok := w.ids[role]
		if !ok {
			id = w.ids["admin"]
		}
		return fmt.Sprintf("/api/v1/users/%d%s", id, rest)
	}
}

// victimAccount is an account of no role's caller (made at first use).
func victimAccount(rest string) func(w *world, role string) string {
	return func(w *world, role string) string { return fmt.Sprintf("/api/v1/users/%d%s", w.victim(), rest) }
}

// freshToken is a new token of the caller's own account (own) or of the
// victim, to revoke: the matrix's own tokens must live on.
func freshToken(own bool) func(w *world, role string) string {
	return func(w *world, role string) string {
		id, ok := w.ids[role]
		if !own || !ok {
			id = w.victim()
		}
		_, tok, err := w.a.Identity().IssueToken(context.Background(), identity.System("test"), id, "to revoke", 0, "")
		if err != nil {
			w.t.Fatal(err)
		}
		return fmt.Sprintf("/api/v1/users/%d/tokens/%d", id, tok.ID)
	}
}

func get(p string) call { return call{method: "GET", path: func(*world) string { return p }} }
func post(p, body string) call {
	return call{method: "POST", path: func(*world) string { return p }, body: body}
}

// row is one route's expectations: who may call it on an object in scope
// (in), and the same call on an object out of scope (out).
type row struct {
	route string // the pattern as registered: "METHOD /path"
	may   who
	kind  kind
	in    call
	out   call
}

func alertCall(method, which, action, body string) call {
	return call{method: method, body: body, path: func(w *world) string {
		id := w.inAlert
		if which == "out" {
			id = w.outAlert
		}
		return fmt.Sprintf("/api/v1/alerts/%d%s", id, action)
	}}
}

// objCall is a call on an object the world finds or makes (a work order,
// a fund entry, a household) on the in- or out-of-scope lift.
func objCall(method, which, body string, path func(w *world, which string) string) call {
	return call{method: method, body: body, path: func(w *world) string { return path(w, which) }}
}

func workOrder(action string) func(w *world, which string) string {
	return func(w *world, which string) string {
		return fmt.Sprintf("/api/v1/work-orders/%d%s", w.workOrder(which), action)
	}
}

func entryReverse(w *world, which string) string {
	return fmt.Sprintf("/api/v1/fund/entries/%d/reverse", w.entry(which))
}

func statement(w *world, which string) string {
	return fmt.Sprintf("/api/v1/households/%d/statement", w.household(which))
}

func statementCSV(w *world, which string) string {
	return fmt.Sprintf("/api/v1/export/statement.csv?household=%d", w.household(which))
}

func silenceDelete(which string) call {
	return call{method: "DELETE", path: func(w *world) string { return fmt.Sprintf("/api/v1/silences/%d", w.newSilence(which)) }}
}

// matrix is the table: one row per route.
var matrix = []row{
	{"GET /healthz", everyone, none, get("/healthz"), call{}},
	{"GET /readyz", everyone, none, get("/readyz"), call{}},
	{"GET /metrics", everyone, none, get("/metrics"), call{}},
	{"GET /api/v1/openapi.json", everyone, none, get("/api/v1/openapi.json"), call{}},
	{"POST /api/v1/session", everyone, none, post("/api/v1/session", `{}`), call{}},
	{"DELETE /api/v1/session", signedIn, none, call{method: "DELETE", path: func(*world) string { return "/api/v1/session" }}, call{}},
	{"GET /api/v1/me", signedIn, none, get("/api/v1/me"), call{}},
	{"GET /api/v1/audit", admins, none, get("/api/v1/audit"), call{}},
	{"POST /api/v1/users/{name}/unlock", admins, none, post("/api/v1/users/nobody/unlock", ``), call{}},
	// User administration (issue 18, finding 7): a manager reads the
	// accounts of their estates; another account (a manager of another
	// estate) answers 404 like an unknown one. Tokens: one's own, or an
	// admin anyone's.
	{"GET /api/v1/users", managers, none, get("/api/v1/users"), call{}},
	{"POST /api/v1/users", admins, none, post("/api/v1/users", `{"name":"matrix-new","role":"manager","scope":{"estates":["yixian"]}}`), call{}},
	{"GET /api/v1/users/{id}", managers, object, userCall("GET", "", ownAccount("")), userCall("GET", "", victimAccount(""))},
	{"PATCH /api/v1/users/{id}", admins, none, userCall("PATCH", `{"disabled":false}`, victimAccount("")), call{}},
	{"POST /api/v1/users/{id}/password", admins, none, userCall("POST", "", victimAccount("/password")), call{}},
	{"GET /api/v1/users/{id}/tokens", signedIn, object, userCall("GET", "", ownAccount("/tokens")), userCall("GET", "", victimAccount("/tokens"))},
	{"DELETE /api/v1/users/{id}/tokens/{token}", signedIn, object, userCall("DELETE", "", freshToken(true)), userCall("DELETE", "", freshToken(false))},

	{"GET /api/v1/lifts", readers, listNot, get("/api/v1/lifts?estate=yixian"), get("/api/v1/lifts?estate=guyuan&limit=1000")},
	{"GET /api/v1/lifts/stream", readers, list, get("/api/v1/lifts/stream?lift=" + inLift), get("/api/v1/lifts/stream?lift=" + outLift)},
	{"GET /api/v1/lifts/{id}", readers, object, get("/api/v1/lifts/" + inLift), get("/api/v1/lifts/" + outLift)},
	{"GET /api/v1/lifts/{id}/history", readers, object, get("/api/v1/lifts/" + inLift + "/history"), get("/api/v1/lifts/" + outLift + "/history")},
	{"GET /api/v1/deadletters", admins, none, get("/api/v1/deadletters"), call{}},

	{"GET /api/v1/alerts", alertSeen, list, get("/api/v1/alerts?lift=" + inLift), get("/api/v1/alerts?lift=" + outLift)},
	{"GET /api/v1/alerts/stream", alertSeen, list, get("/api/v1/alerts/stream?lift=" + inLift), get("/api/v1/alerts/stream?lift=" + outLift)},
	{"GET /api/v1/alerts/{id}", alertSeen, object, alertCall("GET", "in", "", ""), alertCall("GET", "out", "", "")},
	{"POST /api/v1/alerts/{id}/acknowledge", actors, object, alertCall("POST", "in", "/acknowledge", `{}`), alertCall("POST", "out", "/acknowledge", `{}`)},
	{"POST /api/v1/alerts/{id}/dispatch", actors, object, alertCall("POST", "in", "/dispatch", `{"to":"station"}`), alertCall("POST", "out", "/dispatch", `{"to":"station"}`)},
	{"POST /api/v1/alerts/{id}/arrive", actors, object, alertCall("POST", "in", "/arrive", `{}`), alertCall("POST", "out", "/arrive", `{}`)},
	{"POST /api/v1/alerts/{id}/resolve", actors, object, alertCall("POST", "in", "/resolve", `{}`), alertCall("POST", "out", "/resolve", `{}`)},
	{"POST /api/v1/alerts/{id}/comment", actors, object, alertCall("POST", "in", "/comment", `{"note":"n"}`), alertCall("POST", "out", "/comment", `{"note":"n"}`)},
	{"GET /api/v1/notifications", alertSeen, list, call{method: "GET", path: func(w *world) string { return fmt.Sprintf("/api/v1/notifications?alert=%d", w.inAlert) }},
		call{method: "GET", path: func(w *world) string { return fmt.Sprintf("/api/v1/notifications?alert=%d", w.outAlert) }}},
	{"GET /api/v1/silences", managers, list, get("/api/v1/silences?lift=" + inLift), get("/api/v1/silences?lift=" + outLift)},
	{"POST /api/v1/silences", managers, object, post("/api/v1/silences", silenceBody(inLift)), post("/api/v1/silences", silenceBody(outLift))},
	{"DELETE /api/v1/silences/{id}", managers, object, silenceDelete("in"), silenceDelete("out")},
	{"GET /api/v1/reports/rescue", reporters, object, get("/api/v1/reports/rescue?estate=yixian&month=2026-11"), get("/api/v1/reports/rescue?estate=guyuan&month=2026-11")},

	// Maintenance (MAINT-API).
	{"GET /api/v1/lifts/{id}/plan", readers, object, get("/api/v1/lifts/" + inLift + "/plan"), get("/api/v1/lifts/" + outLift + "/plan")},
	{"GET /api/v1/plans", readers, listNot, get("/api/v1/plans?estate=yixian"), get("/api/v1/plans?estate=guyuan&limit=1000")},
	{"GET /api/v1/work-orders", woReaders, list, get("/api/v1/work-orders?lift=" + inLift), get("/api/v1/work-orders?lift=" + outLift)},
	{"GET /api/v1/work-orders/{id}", woReaders, object, objCall("GET", "in", "", workOrder("")), objCall("GET", "out", "", workOrder(""))},
	{"POST /api/v1/work-orders/{id}/start", writers, object, objCall("POST", "in", `{}`, workOrder("/start")), objCall("POST", "out", `{}`, workOrder("/start"))},
	{"POST /api/v1/work-orders/{id}/checklist", writers, object, objCall("POST", "in", `{}`, workOrder("/checklist")), objCall("POST", "out", `{}`, workOrder("/checklist"))},
	{"POST /api/v1/work-orders/{id}/complete", writers, object, objCall("POST", "in", `{}`, workOrder("/complete")), objCall("POST", "out", `{}`, workOrder("/complete"))},
	{"POST /api/v1/work-orders/{id}/accept", managers, object, objCall("POST", "in", `{}`, workOrder("/accept")), objCall("POST", "out", `{}`, workOrder("/accept"))},
	{"POST /api/v1/work-orders/{id}/reject", managers, object, objCall("POST", "in", `{}`, workOrder("/reject")), objCall("POST", "out", `{}`, workOrder("/reject"))},
	{"POST /api/v1/work-orders/{id}/cancel", managers, object, objCall("POST", "in", `{}`, workOrder("/cancel")), objCall("POST", "out", `{}`, workOrder("/cancel"))},
	{"GET /api/v1/checklist", woReaders, none, get("/api/v1/checklist"), call{}},
	{"GET /api/v1/supervision", reporters, listMaybe, get("/api/v1/supervision?lift=" + inLift), get("/api/v1/supervision?lift=" + outLift)},
	{"GET /api/v1/reports/compliance", reporters, none, get("/api/v1/reports/compliance?month=2026-11&estate=yixian"), call{}},
	{"GET /api/v1/export/work-orders.csv", woReaders, none, get("/api/v1/export/work-orders.csv?lift=" + inLift), call{}},
	{"GET /api/v1/export/compliance.csv", reporters, none, get("/api/v1/export/compliance.csv?month=2026-11"), call{}},
	// Trusteeship.
	{"GET /api/v1/lifts/{id}/trusteeship", readers, object, get("/api/v1/lifts/" + inLift + "/trusteeship"), get("/api/v1/lifts/" + outLift + "/trusteeship")},
	{"POST /api/v1/lifts/{id}/manager", admins, object, post("/api/v1/lifts/"+inLift+"/manager", `{}`), post("/api/v1/lifts/"+outLift+"/manager", `{}`)},
	{"POST /api/v1/lifts/{id}/contracts", admins, object, post("/api/v1/lifts/"+inLift+"/contracts", `{}`), post("/api/v1/lifts/"+outLift+"/contracts", `{}`)},
	// The owners' fund.
	{"GET /api/v1/lifts/{id}/fund", reporters, object, get("/api/v1/lifts/" + inLift + "/fund"), get("/api/v1/lifts/" + outLift + "/fund")},
	{"POST /api/v1/lifts/{id}/fund/entries", managers, object, post("/api/v1/lifts/"+inLift+"/fund/entries", `{}`), post("/api/v1/lifts/"+outLift+"/fund/entries", `{}`)},
	{"POST /api/v1/fund/entries/{id}/reverse", managers, object, objCall("POST", "in", `{"reason":"matrix"}`, entryReverse), objCall("POST", "out", `{"reason":"matrix"}`, entryReverse)},
	{"GET /api/v1/households", fundSeen, list, get("/api/v1/households?lift=" + inLift), get("/api/v1/households?lift=" + outLift)},
	{"GET /api/v1/households/{id}/statement", fundSeen, object, objCall("GET", "in", "", statement), objCall("GET", "out", "", statement)},
	{"POST /api/v1/lifts/{id}/fund/bank-statements", managers, object, post("/api/v1/lifts/"+inLift+"/fund/bank-statements", ""), post("/api/v1/lifts/"+outLift+"/fund/bank-statements", "")},
	{"GET /api/v1/lifts/{id}/fund/reconciliation", reporters, object, get("/api/v1/lifts/" + inLift + "/fund/reconciliation"), get("/api/v1/lifts/" + outLift + "/fund/reconciliation")},
	{"GET /api/v1/export/statement.csv", fundSeen, object, objCall("GET", "in", "", statementCSV), objCall("GET", "out", "", statementCSV)},
	// On-call rosters: read_alert to read, act_alert to edit; inside
	// that, each entry is judged (api/oncall.go rosterScope). In scope:
	// a bad body or an unknown entry (400, 404: not denied); out of scope:
	// an entry of estate guyuan, which no scoped account's scope holds:
	// as an unknown one, a 404 (in the path) or a 400 (in the body).
	{"GET /api/v1/oncall", alertSeen, none, get("/api/v1/oncall"), call{}},
	{"PUT /api/v1/oncall/people/{id}", actors, object, call{method: "PUT", path: func(*world) string { return "/api/v1/oncall/people/matrix-in" }, body: `{}`},
		call{method: "PUT", path: func(*world) string { return "/api/v1/oncall/people/matrix-out" }, body: outPersonBody}},
	{"DELETE /api/v1/oncall/people/{id}", actors, object, call{method: "DELETE", path: func(*world) string { return "/api/v1/oncall/people/nobody" }},
		call{method: "DELETE", path: func(w *world) string { return "/api/v1/oncall/people/" + w.outPerson(true) }}},
	{"POST /api/v1/oncall/duty", actors, object, post("/api/v1/oncall/duty", `{}`), call{method: "POST", path: func(w *world) string {
		w.outPerson(false)
		return "/api/v1/oncall/duty"
	}, body: outDutyBody}},
	{"PUT /api/v1/oncall/duty/{id}", actors, object, call{method: "PUT", path: func(*world) string { return "/api/v1/oncall/duty/999999" }, body: `{}`},
		call{method: "PUT", path: func(w *world) string { return fmt.Sprintf("/api/v1/oncall/duty/%d", w.outDuty(false)) }, body: outDutyBody}},
	{"DELETE /api/v1/oncall/duty/{id}", actors, object, call{method: "DELETE", path: func(*world) string { return "/api/v1/oncall/duty/999999" }},
		call{method: "DELETE", path: func(w *world) string { return fmt.Sprintf("/api/v1/oncall/duty/%d", w.outDuty(true)) }}},
	// The pages and their assets are public (they hold no data; the API
	// behind them is guarded); the pages' clock needs read_alert.
	{"GET /{$}", everyone, none, get("/"), call{}},
	{"GET /login", everyone, none, get("/login"), call{}},
	{"GET /fleet", everyone, none, get("/fleet"), call{}},
	{"GET /lifts/{id}", everyone, none, get("/lifts/" + inLift), call{}},
	{"GET /work-orders", everyone, none, get("/work-orders"), call{}},
	{"GET /work-orders/{id}", everyone, none, get("/work-orders/1"), call{}},
	{"GET /supervision", everyone, none, get("/supervision"), call{}},
	{"GET /owner", everyone, none, get("/owner"), call{}},
	{"GET /oncall", everyone, none, get("/oncall"), call{}},
	{"GET /users", everyone, none, get("/users"), call{}},
	{"GET /assets/{path...}", everyone, none, get("/assets/app.css"), call{}},
	{"GET /web/clock", alertSeen, none, get("/web/clock"), call{}},

	{"POST /demo/trigger", actors, object, post("/demo/trigger?lift="+inLift, ""), post("/demo/trigger?lift="+outLift, "")},
	{"GET /demo/simulator", readers, none, get("/demo/simulator"), call{}},
	// Paging: the acknowledge link is public (its one-time token is the
	// credential; an unknown one answers 410); an alert's pages are scoped
	// as the alert; the demo's gateway outbox and inbox need a sign-in.
	{"GET /k/{token}", everyone, none, get("/k/" + strings.Repeat("a", 26)), call{}},
	{"POST /k", everyone, none, post("/k", ""), call{}},
	{"GET /api/v1/alerts/{id}/pages", alertSeen, object, alertCall("GET", "in", "/pages", ""), alertCall("GET", "out", "/pages", "")},
	{"GET /demo/outbox", signedIn, none, get("/demo/outbox"), call{}},
	{"GET /demo/inbox", signedIn, none, get("/demo/inbox"), call{}},
	{"GET /inbox", everyone, none, get("/inbox"), call{}},
}

const (
	outPersonBody = `{"name":"古源经理","role":"manager","estate":"guyuan","contacts":[{"channel":"sms","to":"13800000009"}]}`
	outDutyBody   = `{"person":"matrix-out-mgr","estate":"guyuan","from":"00:00","to":"24:00"}`
)

// outPerson is a manager of guyuan on the roster (out of every scoped
// account's scope): the same one, or a fresh one for a call that deletes it.
func (w *world) outPerson(fresh bool) string {
	id := "matrix-out-mgr"
	if fresh {
		w.entries++
		id = fmt.Sprintf("matrix-out-mgr-%d", w.entries)
	}
	if _, ok := w.a.OnCall().Roster().Person(id); !ok {
		w.a.OnCall().AllowChannel("sms", oncall.AddrPhone) // the world configures no channels
		p := oncall.Person{ID: id, Name: "古源经理", Role: oncall.RoleManager, Estate: "guyuan", Contacts: []oncall.Contact{{Channel: "sms", To: "13800000009"}}}
		if _, err := w.a.OnCall().PutPerson(context.Background(), p); err != nil {
			w.t.Fatal(err)
		}
	}
	return id
}

// outDuty is a duty entry of guyuan: the same one, or a fresh one for a
// call that deletes it.
func (w *world) outDuty(fresh bool) int64 {
	if id, ok := w.found["duty-out"]; ok && !fresh {
		return id
	}
	d := oncall.Duty{Person: w.outPerson(false), Estate: "guyuan", Window: oncall.Window{From: 0, To: 24 * 60}}
	if err := w.a.OnCall().AddDuty(context.Background(), &d); err != nil {
		w.t.Fatal(err)
	}
	if !fresh {
		w.found["duty-out"] = d.ID
	}
	return d.ID
}

func silenceBody(lift string) string {
	return `{"lift":"` + lift + `","starts_at":"2026-11-24T10:00:00Z","ends_at":"2026-11-24T12:00:00Z","reason":"works"}`
}

// world is the running service of the matrix and its objects.
type world struct {
	t        *testing.T
	a        *app.App
	base     string
	tokens   map[string]string // role → API token
	ids      map[string]int64  // role → its account's id
	victimID int64             // an account of no caller (victim)
	inAlert  int64
	outAlert int64
	found    map[string]int64 // work orders and households found, by kind and side
	entries  int
}

func (w *world) lift(which string) string {
	if which == "out" {
		return outLift
	}
	return inLift
}

// adminJSON gets path as the admin into v.
func (w *world) adminJSON(path string, v any) {
	code, body := w.send("admin", get(path))
	if code != 200 || json.Unmarshal([]byte(body), v) != nil {
		w.t.Fatalf("%s: %d %.300s", path, code, body)
	}
}

// workOrder is a work order of the side's lift (the maintenance sweep
// makes them at start: the seeded lifts have no history).
func (w *world) workOrder(which string) int64 {
	key := "wo-" + which
	if id, ok := w.found[key]; ok {
		return id
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var list []struct{ ID int64 }
		w.adminJSON("/api/v1/work-orders?lift="+w.lift(which)+"&limit=1", &list)
		if len(list) > 0 {
			w.found[key] = list[0].ID
			return list[0].ID
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatalf("no work order of %s", w.lift(which))
	return 0
}

// household is the side's lift's household 101 (seeded at start).
func (w *world) household(which string) int64 {
	key := "hh-" + which
	if id, ok := w.found[key]; ok {
		return id
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var f struct {
			Households []struct {
				ID   int64
				Unit string
			}
		}
		w.adminJSON("/api/v1/lifts/"+w.lift(which)+"/fund", &f)
		for _, h := range f.Households {
			if h.Unit == "101" {
				w.found[key] = h.ID
				return h.ID
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatalf("no household 101 of %s", w.lift(which))
	return 0
}

// entry posts a fresh fund expense on the side's lift (a reversal uses it up).
func (w *world) entry(which string) int64 {
	w.household(which) // the lift's households exist
	w.entries++
	e, err := w.a.Domain().Fund.PostExpense(context.Background(), "matrix", w.lift(which),
		fund.SourceRef{Category: "other", ID: fmt.Sprintf("matrix-%d", w.entries)}, 100, "matrix")
	if err != nil {
		w.t.Fatal(err)
	}
	return e.ID
}

// newSilence makes a silence on the in- or out-of-scope lift (a route that
// deletes one needs a fresh one for every call).
func (w *world) newSilence(which string) int64 {
	lift := inLift
	if which == "out" {
		lift = outLift
	}
	s, err := w.a.Engine().AddSilence(context.Background(), alerts.Silence{Lift: lift, StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour),
		Reason: "matrix", CreatedBy: "test"})
	if err != nil {
		w.t.Fatal(err)
	}
	return s.ID
}

// startWorld runs the wired service (app.New, the demo's routes) on a real
// SQLite store and Mosquitto, with an open alert on each lift, a
// notification of each, and an account and API token per role.
func startWorld(t *testing.T) *world { t.Helper(); return startWorldOn(t, "") }

// startWorldOn is startWorld on the database of storeURL (--store.url; "":
// the embedded SQLite database).
func startWorldOn(t *testing.T, storeURL string) *world {
	t.Helper()
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	ctx := context.Background()
	cfg := app.DefaultConfig()
	cfg.Data.Dir, cfg.HTTP.Listen, cfg.MQTT.Broker = t.TempDir(), "127.0.0.1:0", broker.URL
	cfg.Registry.Subdistricts = "guyuan=wusong"
	cfg.Store.URL = storeURL
	w := &world{t: t, tokens: map[string]string{}, ids: map[string]int64{}, found: map[string]int64{}}

	db, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute)
	for _, x := range []struct {
		lift, estate string
		id           *int64
	}{{inLift, "yixian", &w.inAlert}, {outLift, "guyuan", &w.outAlert}} {
		al := &alerts.Alert{Lift: x.lift, Estate: x.estate, Type: alerts.TypeEntrapment, Rescue: true, Severity: telemetry.SeverityCritical,
			State: alerts.StateOpen, Summary: "trapped", Count: 1, FirstSeen: at, LastSeen: at, OpenedAt: at, LastNotified: at}
		if err := db.Alerts().SaveAlert(ctx, al, []alerts.Event{{At: at, Action: "opened", Actor: "liftwatch"}}); err != nil {
			t.Fatal(err)
		}
		*x.id = al.ID
		rec := notify.Record{AlertID: al.ID, Receiver: "r", Event: "opened", Tier: 1, At: at, Attempts: 1, Outcome: "delivered"}
		if err := db.Alerts().LogNotification(ctx, &rec); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	w.a, err = app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ds := &demoSim{ready: make(chan struct{}), ended: make(chan struct{})}
	ds.routes(w.a)
	if err := demoPaging(ctx, w.a, inLift); err != nil {
		t.Fatal(err)
	}
	scopes := map[identity.Role]identity.Scope{
		identity.RoleAdmin:       {},
		identity.RoleManager:     {Estates: []string{"yixian"}},
		identity.RoleContractor:  {Company: "上海三菱电梯维保站"},
		identity.RoleOwner:       {Lift: inLift, Household: "101"}, // a household the service seeds (app.SeedHouseholds)
		identity.RoleSubdistrict: {Subdistrict: "jiangwan"},
	}
	for role, sc := range scopes {
		u, err := w.a.Identity().CreateUser(ctx, identity.System("test"), identity.NewUser{Name: "m-" + string(role), Role: role, Scope: sc,
			Password: "matrix password " + string(role)}, "")
		if err != nil {
			t.Fatal(err)
		}
		raw, _, err := w.a.Identity().IssueToken(ctx, identity.System("test"), u.ID, "matrix", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[string(role)] = raw
		w.ids[string(role)] = u.ID
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.a.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	w.base = "http://" + w.a.HTTPAddr()
	w.newSilence("in")
	w.newSilence("out")
	return w
}

// send makes the call as role; for streams it reads only the head.
func (w *world) send(role string, c call) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	path := c.pathFor(w, role)
	req, _ := http.NewRequestWithContext(ctx, c.method, w.base+path, body)
	if tok := w.tokens[role]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s as %s: %v", c.method, path, role, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// victim is an account no caller of the matrix is (a manager of another
// estate), for the routes that change or read someone else's account.
func (w *world) victim() int64 {
	if w.victimID == 0 {
		u, err := w.a.Identity().CreateUser(context.Background(), identity.System("test"), identity.NewUser{Name: "m-victim",
			Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"guyuan"}}, Password: "matrix password victim"}, "")
		if err != nil {
			w.t.Fatal(err)
		}
		w.victimID = u.ID
	}
	return w.victimID
}

// nonEmpty says whether body is a JSON array with items.
func nonEmpty(body string) bool {
	var items []json.RawMessage
	return json.Unmarshal([]byte(body), &items) == nil && len(items) > 0
}

// answersAsUnknown says whether an answer about an object out of scope is
// the one an unknown object gets, and names nothing of whose it is.
func answersAsUnknown(code int, body string) bool {
	if strings.Contains(body, "guyuan") || strings.Contains(body, "迅达") {
		return false
	}
	return code == http.StatusNotFound && errorCode(body) == "not_found" ||
		code == http.StatusBadRequest && strings.Contains(body, "among those you may act on")
}

func denied(code int) bool { return code == http.StatusUnauthorized || code == http.StatusForbidden }

func TestRoleRouteMatrix(t *testing.T) { testrig.ForEachStore(t, testRoleRouteMatrix) }

func testRoleRouteMatrix(t *testing.T, storeURL string) {
	w := startWorldOn(t, storeURL)
	routes := w.a.API().Routes()
	var patterns []string
	for _, r := range routes {
		patterns = append(patterns, r.Pattern)
	}
	rows := map[string]row{}
	for _, r := range matrix {
		if _, dup := rows[r.route]; dup {
			t.Errorf("route %s has two rows", r.route)
		}
		rows[r.route] = r
		if !slices.Contains(patterns, r.route) {
			t.Errorf("the matrix has a row for %s, which the service does not serve: remove or rename it", r.route)
		}
	}
	for _, p := range patterns {
		if _, ok := rows[p]; !ok {
			t.Errorf("route %s is not in the role × route matrix: add a row saying who may call it (cmd/liftwatch/matrix_test.go)", p)
		}
	}
	for _, r := range matrix {
		if !slices.Contains(patterns, r.route) {
			continue
		}
		for _, role := range everyone {
			code, body := w.send(role, r.in)
			want := slices.Contains(r.may, role)
			if code >= 500 && code != http.StatusServiceUnavailable { // a server error is neither allowed nor denied
				t.Errorf("%s as %s, object in scope: %d: %.300s", r.route, role, code, body)
			}
			if got := !denied(code); got != want {
				t.Errorf("%s as %s, object in scope: %d, want %s: %.300s", r.route, role, code, map[bool]string{true: "allowed", false: "denied"}[want], body)
			}
			if (r.kind == list || r.kind == listNot) && want && body != "" && !nonEmpty(body) {
				t.Errorf("%s as %s, object in scope: shows nothing: %.300s", r.route, role, body)
			}
			if r.kind == none || !want || role == "anonymous" {
				continue
			}
			code, body = w.send(role, r.out)
			if code >= 500 && code != http.StatusServiceUnavailable {
				t.Errorf("%s as %s, object out of scope: %d: %.300s", r.route, role, code, body)
			}
			switch {
			case role == "admin" && denied(code):
				t.Errorf("%s as admin, object out of every other scope: %d, want allowed: %.300s", r.route, code, body)
			case role == "admin" && r.kind == list && body != "" && !nonEmpty(body),
				role == "admin" && r.kind == listNot && !strings.Contains(body, `"`+outLift+`"`):
				t.Errorf("%s as admin, filtered to the object out of the others' scope: does not show it, so the check proves nothing: %.300s", r.route, body)
			case role == "admin":
			case r.kind == object && !answersAsUnknown(code, body):
				// Out of scope answers as unknown does (issue 18): 404 for
				// an object in the path, 400 "no lift … among those you may
				// act on" for one in the body; naming neither the object's
				// estate nor its company.
				t.Errorf("%s as %s, object out of scope: %d, want 404 that names nothing of it: %.300s", r.route, role, code, body)
			case (r.kind == list || r.kind == listNot || r.kind == listMaybe) && code != http.StatusOK:
				t.Errorf("%s as %s, filtered to an object out of scope: %d, want 200 showing nothing: %.300s", r.route, role, code, body)
			case r.kind == listNot && strings.Contains(body, `"`+outLift+`"`):
				t.Errorf("%s as %s shows %s, which is out of scope: %.300s", r.route, role, outLift, body)
			case (r.kind == list || r.kind == listMaybe) && body != "":
				var items []json.RawMessage
				if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != 0 {
					t.Errorf("%s as %s, filtered to an object out of scope, shows %d items: %.300s", r.route, role, len(items), body)
				}
			}
		}
	}
}

// TestOpenAPIMatchesRoutes: the served OpenAPI document (merged from the
// fragments in api/openapi/) documents every route of the wired service
// (but the pages and their assets),
// and every documented operation is a route; each signed-in operation
// names the action its guard checks.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	w := startWorld(t)
	code, body := w.send("anonymous", get("/api/v1/openapi.json"))
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %d %.300s", code, body)
	}
	documented := map[string]json.RawMessage{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			documented[strings.ToUpper(m)+" "+p] = op
		}
	}
	served := map[string]bool{}
	for _, r := range w.a.API().Routes() {
		// The pages and their assets are HTML, CSS and scripts, not the API.
		if slices.ContainsFunc(web.Pages, func(p web.Page) bool { return p.Pattern == r.Pattern }) || r.Pattern == "GET /assets/{path...}" {
			continue
		}
		served[r.Pattern] = true
		op, ok := documented[r.Pattern]
		if !ok {
			t.Errorf("route %s is not documented: add it to its area's fragment in api/openapi/", r.Pattern)
			continue
		}
		var o struct {
			Action    string                     `json:"x-liftwatch-action"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
		if err := json.Unmarshal(op, &o); err != nil || len(o.Responses) == 0 {
			t.Errorf("%s: operation without responses: %s", r.Pattern, op)
		}
		if o.Action != string(r.Guard.Action) {
			t.Errorf("%s: documented action %q, its guard checks %q", r.Pattern, o.Action, r.Guard.Action)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("%s is documented but not served: remove it from api/openapi/ or add the route", k)
		}
	}
	if len(documented) < 25 {
		t.Fatalf("only %d operations documented", len(documented))
	}
}
