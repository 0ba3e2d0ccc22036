package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/web"
)

// withChannels gives cfg an alerts file whose channels are sms and voice
// (Aliyun, never called in these tests).
func withChannels(t *testing.T, cfg *Config) {
	t.Helper()
	cfg.Alerts.File = filepath.Join(t.TempDir(), "alerts.yaml")
	if err := os.WriteFile(cfg.Alerts.File, []byte(`channels:
  sms: {type: aliyun_sms, access_key_id: LTAI, access_key_secret: s, sign_name: 电梯卫士, template_code: SMS_1}
  voice: {type: aliyun_voice, access_key_id: LTAI, access_key_secret: s, called_show_number: "02150000000", tts_code: TTS_2}
`), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newStopped builds the app without running it; closed at cleanup.
func newStopped(t *testing.T, cfg Config) *App {
	t.Helper()
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.listener.Close(); a.db.Close() })
	return a
}

func rosterIDs(ps []oncall.Person) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// The demo's roster: JW-0042's chain is demo-contractor's technician and
// demo-manager, then the supervisor, then demo-subdistrict; every lift of
// the register has a chain at every tier, at any hour; no holes.
func TestDemoRosterCoversEveryLift(t *testing.T) {
	a := newStopped(t, testConfig(t, fmt.Sprintf("tcp://127.0.0.1:%d", testrig.FreePort(t))))
	ctx := context.Background()
	if err := a.SeedDemoRoster(ctx, "JW-0042"); err != nil {
		t.Fatal(err)
	}
	if err := a.SeedDemoRoster(ctx, "JW-0042"); err != nil { // a kept data directory: the same roster again
		t.Fatal(err)
	}
	r := a.OnCall().Roster()
	l, _ := a.Registry().Get("JW-0042")
	at := time.Date(2026, 12, 13, 15, 30, 0, 0, time.UTC) // Sunday 23:30 in Shanghai
	chain := r.Chain(l.Estate, l.Contractor, 3, at)
	if got := rosterIDs(chain); !slices.Equal(got, []string{"demo-technician", "demo-manager", "demo-supervisor", "demo-subdistrict"}) {
		t.Fatalf("JW-0042's chain: %v", got)
	}
	if chain[0].User != "demo-contractor" || chain[1].User != "demo-manager" || chain[3].User != "demo-subdistrict" ||
		chain[0].Contacts[0].Channel != "demo" {
		t.Errorf("JW-0042's chain: %+v", chain)
	}
	for _, l := range a.Registry().Lifts() {
		for h := 0; h < 24*7; h += 5 {
			c := r.Chain(l.Estate, l.Contractor, 3, at.Add(time.Duration(h)*time.Hour))
			if len(c) != 4 {
				t.Fatalf("%s at +%dh: chain %v", l.ID, h, rosterIDs(c))
			}
		}
	}
	if err := a.rosterReady(ctx); err != nil {
		t.Errorf("readyz: %v", err)
	}
	if n := len(r.People()); n != len(a.OnCall().Roster().People()) || n < 4 {
		t.Errorf("people %d", n)
	}
}

// serve --oncall.file: the file is checked at start (a bad one is a
// ConfigError naming the line), imported, and at the next start its entries
// replace those of the last import while the web's are kept.
func TestRosterFileImportedAtStart(t *testing.T) {
	cfg := testConfig(t, fmt.Sprintf("tcp://127.0.0.1:%d", testrig.FreePort(t)))
	withChannels(t, &cfg)
	cfg.OnCall.File = filepath.Join(t.TempDir(), "roster.yaml")
	write := func(s string) {
		if err := os.WriteFile(cfg.OnCall.File, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`people:
  - {id: zhang, name: 张师傅, role: technician, contacts: [{channel: sms, to: "13800000001"}, {channel: wecom}]}
duty:
  - {person: zhang, contractor: 上海三菱电梯维保站, from: "00:00", to: "24:00"}
  - {person: zhang, contractor: 上海三菱电梯维保, from: "00:00", to: "24:00"}
`)
	var ce *ConfigError
	err := Check(cfg)
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `line 5: duty[1].contractor: "上海三菱电梯维保" is not a contractor of the lift register`) ||
		!strings.Contains(err.Error(), `line 2: people[0].contacts[1].channel: "wecom" is not a configured channel (sms, voice)`) {
		t.Fatalf("bad roster file: %v", err)
	}
	write(`people:
  - {id: zhang, name: 张师傅, role: technician, contacts: [{channel: sms, to: "13800000001"}]}
duty:
  - {person: zhang, contractor: 上海三菱电梯维保站, from: "00:00", to: "24:00"}
`)
	a := newStopped(t, cfg)
	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	if got := rosterIDs(a.OnCall().Roster().Chain("yixian", "上海三菱电梯维保站", 1, at)); !slices.Equal(got, []string{"zhang"}) {
		t.Fatalf("after the first start: %v", got)
	}
	ctx := context.Background()
	if _, err := a.OnCall().PutPerson(ctx, oncall.Person{ID: "li", Name: "李经理", Role: oncall.RoleManager, Estate: "yixian",
		Contacts: []oncall.Contact{{Channel: "sms", To: "13800000002"}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.OnCall().AddDuty(ctx, &oncall.Duty{Person: "li", Estate: "yixian", Window: oncall.Window{From: 0, To: 1440}}); err != nil {
		t.Fatal(err)
	}
	a.listener.Close()
	a.db.Close()
	write(`people:
  - {id: zhao, name: 赵师傅, role: technician, contacts: [{channel: sms, to: "13800000003"}]}
duty:
  - {person: zhao, contractor: 上海三菱电梯维保站, from: "00:00", to: "24:00"}
`)
	b := newStopped(t, cfg)
	if got := rosterIDs(b.OnCall().Roster().Chain("yixian", "上海三菱电梯维保站", 1, at)); !slices.Equal(got, []string{"zhao", "li"}) {
		t.Fatalf("after the second start: %v (want the file's zhao, the web's li; zhang gone)", got)
	}
}

// The roster's API through the real HTTP server, per role and scope.
func TestRosterAPIScope(t *testing.T) {
	cfg := testConfig(t, fmt.Sprintf("tcp://127.0.0.1:%d", testrig.FreePort(t)))
	cfg.Registry.Subdistrict = "jiangwan"
	withChannels(t, &cfg)
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.SeedDemoRoster(ctx, "JW-0042"); err != nil {
		t.Fatal(err)
	}
	l, _ := a.Registry().Get("JW-0042")
	tokens := map[string]string{}
	for role, sc := range map[identity.Role]identity.Scope{
		identity.RoleAdmin: {}, identity.RoleManager: {Estates: []string{l.Estate}}, identity.RoleContractor: {Company: l.Contractor},
		identity.RoleOwner: {Lift: l.ID, Household: "101"}, identity.RoleSubdistrict: {Subdistrict: "jiangwan"},
	} {
		u, err := a.Identity().CreateUser(ctx, identity.System("test"), identity.NewUser{Name: "t-" + string(role), Role: role, Scope: sc,
			Password: "roster password " + string(role)}, "")
		if err != nil {
			t.Fatal(err)
		}
		raw, _, err := a.Identity().IssueToken(ctx, identity.System("test"), u.ID, "t", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		tokens[string(role)] = raw
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	send := func(role, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+a.HTTPAddr()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens[role])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Who sees what.
	code, body := send("manager", "GET", "/api/v1/oncall", "")
	if code != 200 || !strings.Contains(body, `"demo-manager"`) || !strings.Contains(body, `"demo-technician"`) ||
		!strings.Contains(body, `"demo-subdistrict"`) || strings.Contains(body, `"demo-mgr-guyuan"`) {
		t.Errorf("manager sees: %d %s", code, body)
	}
	code, body = send("contractor", "GET", "/api/v1/oncall", "")
	if code != 200 || !strings.Contains(body, `"demo-technician"`) || !strings.Contains(body, `"demo-supervisor"`) ||
		strings.Contains(body, `"demo-manager"`) || strings.Contains(body, `"demo-tech-`) {
		t.Errorf("contractor sees: %d %.2000s", code, body)
	}
	code, body = send("subdistrict", "GET", "/api/v1/oncall", "")
	if code != 200 || !strings.Contains(body, `"demo-mgr-guyuan"`) || !strings.Contains(body, `"demo-tech-2"`) || strings.Contains(body, `"editable": true`) {
		t.Errorf("subdistrict sees everything of its estates and edits nothing: %d %.3000s", code, body)
	}
	if code, _ := send("owner", "GET", "/api/v1/oncall", ""); code != 403 {
		t.Errorf("owner: %d", code)
	}
	// A manager adds a manager of their estate and a duty entry for them.
	person := `{"name":"周经理","role":"manager","estate":"` + l.Estate + `","phone":"13800000011","contacts":[{"channel":"sms","to":"13800000011"}]}`
	if code, body := send("manager", "PUT", "/api/v1/oncall/people/zhou", person); code != 201 {
		t.Fatalf("manager adds a manager: %d %s", code, body)
	}
	duty := `{"person":"zhou","estate":"` + l.Estate + `","days":["sat","sun"],"from":"20:00","to":"08:00"}`
	code, body = send("manager", "POST", "/api/v1/oncall/duty", duty)
	if code != 201 || !strings.Contains(body, `"from": "20:00"`) {
		t.Fatalf("manager adds a duty entry: %d %s", code, body)
	}
	// Sunday 23:30 Shanghai: zhou is on duty for the estate, the pager sees it at once.
	at := time.Date(2026, 12, 13, 15, 30, 0, 0, time.UTC)
	if got := rosterIDs(a.OnCall().Roster().Chain(l.Estate, l.Contractor, 1, at)); !slices.Equal(got, []string{"demo-technician", "demo-manager", "zhou"}) {
		t.Errorf("chain after the manager's edit: %v", got)
	}
	// A holiday swap on that Sunday: zhou is off, the chain has the
	// manager only; the entry says so.
	code, body = send("manager", "POST", "/api/v1/oncall/duty", `{"person":"zhou","estate":"`+l.Estate+`","date":"2026-12-13","off":true,"from":"20:00","to":"24:00"}`)
	if code != 201 || !strings.Contains(body, `"date": "2026-12-13"`) || !strings.Contains(body, `"off": true`) {
		t.Fatalf("manager adds a day off: %d %s", code, body)
	}
	if got := rosterIDs(a.OnCall().Roster().Chain(l.Estate, l.Contractor, 1, at)); !slices.Equal(got, []string{"demo-technician", "demo-manager"}) {
		t.Errorf("chain on zhou's day off: %v", got)
	}
	if code, body := send("manager", "POST", "/api/v1/oncall/duty", `{"person":"zhou","estate":"`+l.Estate+`","date":"2026-12-32","from":"20:00","to":"24:00"}`); code != 400 ||
		!strings.Contains(body, `"field": "date"`) {
		t.Errorf("a bad date: %d %s", code, body)
	}
	// Out of scope: what the caller cannot see answers as an unknown
	// object does (404 in the path, 400 in the body, naming nothing of
	// it); what they see but may not edit, and what their role may not do
	// at all, is a 403.
	var guyuanDuty int64
	for _, d := range a.OnCall().Roster().Duty() {
		if d.Estate == "guyuan" {
			guyuanDuty = d.ID
		}
	}
	for _, c := range []struct {
		role, method, path, body string
		code                     int
	}{
		{"manager", "POST", "/api/v1/oncall/duty", `{"person":"zhou","estate":"guyuan","from":"00:00","to":"24:00"}`, 400},
		{"manager", "PUT", fmt.Sprintf("/api/v1/oncall/duty/%d", guyuanDuty), `{"person":"zhou","estate":"yixian","from":"00:00","to":"24:00"}`, 404},
		{"manager", "DELETE", fmt.Sprintf("/api/v1/oncall/duty/%d", guyuanDuty), "", 404},
		{"manager", "DELETE", "/api/v1/oncall/people/demo-mgr-guyuan", "", 404},
		{"manager", "PUT", "/api/v1/oncall/people/guyuan-new", `{"name":"x","role":"manager","estate":"guyuan","contacts":[{"channel":"sms","to":"13800000011"}]}`, 400},
		{"contractor", "PUT", "/api/v1/oncall/people/zhou", person, 404},
		{"contractor", "POST", "/api/v1/oncall/duty", `{"person":"demo-tech-2","contractor":"迅达 (中国) 虹口服务中心","from":"00:00","to":"24:00"}`, 400},
		{"manager", "POST", "/api/v1/oncall/duty", `{"person":"demo-technician","contractor":"` + l.Contractor + `","from":"00:00","to":"24:00"}`, 403},
		{"manager", "PUT", "/api/v1/oncall/people/demo-technician", `{"name":"x","role":"technician","contacts":[{"channel":"sms","to":"13800000011"}]}`, 403},
		{"manager", "PUT", "/api/v1/oncall/people/zhou2", `{"name":"x","role":"manager","contacts":[{"channel":"sms","to":"13800000011"}]}`, 403},
		{"contractor", "POST", "/api/v1/oncall/duty", `{"person":"demo-subdistrict","subdistrict":true,"from":"00:00","to":"24:00"}`, 403},
		{"subdistrict", "POST", "/api/v1/oncall/duty", `{"person":"demo-subdistrict","subdistrict":true,"from":"00:00","to":"24:00"}`, 403},
		{"owner", "DELETE", "/api/v1/oncall/duty/1", "", 403},
	} {
		code, body := send(c.role, c.method, c.path, c.body)
		if said := strings.ReplaceAll(body, c.path, ""); code != c.code || strings.Contains(said, "guyuan") || strings.Contains(said, "迅达") {
			t.Errorf("%s %s %s %s: %d, want %d naming nothing out of scope: %s", c.role, c.method, c.path, c.body, code, c.code, body)
		}
	}
	// The contractor edits its own technician; bad input is a 400 naming the field.
	tech := `{"name":"张师傅","role":"technician","contractor":"` + l.Contractor + `","user":"demo-contractor","contacts":[{"channel":"demo","to":"13900000001"},{"channel":"sms","to":"13900000001"}]}`
	if code, body := send("contractor", "PUT", "/api/v1/oncall/people/demo-technician", tech); code != 200 {
		t.Errorf("contractor edits its technician: %d %s", code, body)
	}
	if code, body := send("contractor", "PUT", "/api/v1/oncall/people/demo-technician", strings.Replace(tech, "13900000001\"}]", "139\"}]", 1)); code != 400 ||
		!strings.Contains(body, `"field": "contacts[1].to"`) {
		t.Errorf("a bad number: %d %s", code, body)
	}
	if code, body := send("manager", "POST", "/api/v1/oncall/duty", `{"person":"zhou","estate":"`+l.Estate+`","from":"8:00","to":"20:00"}`); code != 400 ||
		!strings.Contains(body, `"field": "from"`) {
		t.Errorf("a bad time: %d %s", code, body)
	}
	if code, body := send("manager", "DELETE", "/api/v1/oncall/people/zhou", ""); code != 409 {
		t.Errorf("delete a person on duty: %d %s", code, body)
	}
	// A manager cannot link a person to someone else's account (a page's
	// acknowledge link acts as it); their own is fine, and so is keeping
	// the one the person has.
	if code, body := send("manager", "PUT", "/api/v1/oncall/people/zhou", strings.Replace(person, `"role"`, `"user":"t-admin","role"`, 1)); code != 403 {
		t.Errorf("manager links a person to the admin's account: %d %s", code, body)
	}
	if code, body := send("manager", "PUT", "/api/v1/oncall/people/zhou", strings.Replace(person, `"role"`, `"user":"t-manager","role"`, 1)); code != 200 {
		t.Errorf("manager links a person to their own account: %d %s", code, body)
	}
	if code, body := send("contractor", "PUT", "/api/v1/oncall/people/demo-technician", tech); code != 200 {
		t.Errorf("contractor keeps its technician's account: %d %s", code, body)
	}
	// The admin edits anything.
	if code, body := send("admin", "DELETE", "/api/v1/oncall/people/demo-mgr-guyuan", ""); code != 409 {
		t.Errorf("admin deletes a person on duty: %d %s", code, body)
	}
}

// Every roster role, weekday, channel and source, and every field the
// roster API may name in a 400, has a label in both languages of the pages.
func TestRosterCodesHaveLabels(t *testing.T) {
	zh, en := web.Labels()
	var keys []string
	for _, r := range oncall.Roles() {
		keys = append(keys, "oncall.role."+r)
	}
	for _, d := range oncall.DayNames() {
		keys = append(keys, "oncall.day."+d)
	}
	for _, c := range append(oncall.DefaultChannels().Names(), demoChannel) {
		keys = append(keys, "oncall.channel."+c)
	}
	for _, s := range []string{oncall.SourceFile, oncall.SourceWeb, oncall.SourceDemo} {
		keys = append(keys, "oncall.source."+s)
	}
	for _, f := range []string{"id", "name", "role", "user", "phone", "lang", "contacts", "contractor", "estate", "person", "from", "to", "days", "subdistrict"} {
		keys = append(keys, "oncall.f."+f)
	}
	for _, k := range keys {
		if !zh[k] || !en[k] {
			t.Errorf("%s: no label in web/assets/js/i18n.js (zh %v, en %v)", k, zh[k], en[k])
		}
	}
}
