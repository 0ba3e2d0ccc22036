package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/clock"
)

var fastArgon = identity.Params{Time: 1, Memory: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

func identityService(t *testing.T, db *DB, clk *clock.Fake) *identity.Service {
	t.Helper()
	svc, err := identity.NewService(db.Identity(), identity.Config{Now: clk.Now, Params: fastArgon})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

const testPassword = "correct horse battery"

// TestIdentitySessionsSurviveReopen: a session opened through one handle is
// valid through a new handle on the same database (a restart), and revoking
// it there, or all of a user's sessions, ends it everywhere.
func TestIdentitySessionsSurviveReopen(t *testing.T) {
	forEachOpener(t, func(t *testing.T, open func(t *testing.T) *DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		db1 := open(t)
		svc1 := identityService(t, db1, clk)
		u, err := svc1.CreateUser(ctx, identity.System("test"), identity.NewUser{Name: "wang", Role: identity.RoleManager,
			Scope: identity.Scope{Estates: []string{"JW", "YX"}}, Password: testPassword}, "")
		if err != nil {
			t.Fatal(err)
		}
		s1, err := svc1.Login(ctx, "wang", testPassword, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		s2, err := svc1.Login(ctx, "wang", testPassword, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		s3, err := svc1.Login(ctx, "wang", testPassword, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		db1.Close() // the service stops

		clk.Advance(10 * time.Minute)
		db2 := open(t)
		svc2 := identityService(t, db2, clk)
		a, csrf, err := svc2.SessionActor(ctx, s1.RawID)
		if err != nil {
			t.Fatalf("session after reopening: %v", err)
		}
		want := identity.Actor{UserID: u.ID, Name: "wang", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"JW", "YX"}}, Via: identity.ViaSession}
		if a.Cred == "" {
			t.Fatal("the actor does not name its session (streams watch it)")
		}
		a.Cred = ""
		if !reflect.DeepEqual(a, want) || csrf != s1.CSRF {
			t.Fatalf("actor %+v csrf %q, want %+v %q", a, csrf, want, s1.CSRF)
		}
		if err := svc2.Logout(ctx, s1.RawID, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		db3 := open(t)
		svc3 := identityService(t, db3, clk)
		if _, _, err := svc3.SessionActor(ctx, s1.RawID); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("revoked session through another handle: %v", err)
		}
		if _, _, err := svc3.SessionActor(ctx, s2.RawID); err != nil {
			t.Fatalf("the other session: %v", err)
		}
		n, err := svc3.RevokeSessions(ctx, identity.Actor{UserID: u.ID, Name: "wang", Role: identity.RoleManager}, u.ID, "192.0.2.1")
		if err != nil || n != 2 {
			t.Fatalf("revoke all: %d, %v; want 2", n, err)
		}
		for _, s := range []*identity.LoginResult{s2, s3} {
			if _, _, err := svc2.SessionActor(ctx, s.RawID); !errors.Is(err, identity.ErrUnauthenticated) {
				t.Fatalf("session after revoking all: %v", err)
			}
		}
		// Purge: nothing has expired yet; after the absolute expiry all go.
		if n, err := svc3.PurgeSessions(ctx, 0); err != nil || n != 0 {
			t.Fatalf("purge before expiry: %d %v", n, err)
		}
		clk.Advance(identity.DefaultSessionTTL)
		if n, err := svc3.PurgeSessions(ctx, 0); err != nil || n != 3 {
			t.Fatalf("purge after expiry: %d %v, want 3", n, err)
		}
	})
}

// dumpTables is every column of every row of tables, as text.
func dumpTables(t *testing.T, db *DB, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range tables {
		rows, err := db.SQL.Query(`SELECT * FROM ` + tbl)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

// TestIdentitySecretsHashedAtRest: no password, session id or API token is
// in the database, only their hashes (and a token's short prefix).
func TestIdentitySecretsHashedAtRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		svc := identityService(t, db, clk)
		u, err := svc.CreateUser(ctx, identity.System("test"), identity.NewUser{Name: "li", Role: identity.RoleOwner,
			Scope: identity.Scope{Lift: "JW-0001", Household: "12-302"}, Password: testPassword}, "")
		if err != nil {
			t.Fatal(err)
		}
		s, err := svc.Login(ctx, "li", testPassword, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		raw, tok, err := svc.IssueToken(ctx, identity.System("test"), u.ID, "export", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.TokenActor(ctx, raw); err != nil {
			t.Fatal(err)
		}
		dump := dumpTables(t, db, "users", "sessions", "api_tokens", "audit_log")
		for what, secret := range map[string]string{"password": testPassword, "session id": s.RawID, "CSRF token": s.CSRF,
			"API token": raw, "token secret": raw[len(identity.TokenPrefix):]} {
			if strings.Contains(dump, secret) {
				t.Errorf("the %s is stored in the clear", what)
			}
		}
		if !strings.Contains(dump, tok.Hash) || !strings.Contains(dump, tok.Prefix) || !strings.Contains(dump, "$argon2id$") {
			t.Errorf("hashes not where expected:\n%s", dump)
		}
	})
}

// TestIdentityRepository: the repository's contract on each backend: users
// with their scope, unique names, not-found errors, tokens, and the audit
// log's filters and pages.
func TestIdentityRepository(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := db.Identity()
		u := &identity.User{Name: "acme", Role: identity.RoleContractor, Scope: identity.Scope{Company: "ACME Lifts"},
			PasswordHash: "$argon2id$x", CreatedAt: at(time.Second)}
		if err := r.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		u2 := &identity.User{Name: "boss", Role: identity.RoleAdmin, PasswordHash: "h", Disabled: true, CreatedAt: at(2 * time.Second)}
		if err := r.CreateUser(ctx, u2); err != nil {
			t.Fatal(err)
		}
		if u.ID <= 0 || u2.ID <= u.ID {
			t.Fatalf("ids %d %d", u.ID, u2.ID)
		}
		if err := r.CreateUser(ctx, &identity.User{Name: "acme", Role: identity.RoleAdmin, CreatedAt: t0}); !errors.Is(err, identity.ErrNameTaken) {
			t.Fatalf("duplicate name: %v", err)
		}
		got, err := r.UserByName(ctx, "acme")
		if err != nil || !reflect.DeepEqual(got, u) {
			t.Fatalf("by name: %+v %v, want %+v", got, err, u)
		}
		got, err = r.UserByID(ctx, u2.ID)
		if err != nil || !reflect.DeepEqual(got, u2) {
			t.Fatalf("by id: %+v %v, want %+v", got, err, u2)
		}
		if _, err := r.UserByName(ctx, "nobody"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("missing user: %v", err)
		}
		if _, err := r.UserByID(ctx, 999); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("missing user: %v", err)
		}
		list, err := r.ListUsers(ctx)
		if err != nil || len(list) != 2 || list[0].Name != "acme" {
			t.Fatalf("list users %+v %v", list, err)
		}
		if _, err := r.SessionByHash(ctx, "nope"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("missing session: %v", err)
		}
		if err := r.RevokeSession(ctx, "nope", t0); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("revoke missing session: %v", err)
		}
		// A session must belong to a user.
		if err := r.CreateSession(ctx, identity.Session{Hash: "h1", UserID: 999, CreatedAt: t0, LastSeen: t0, ExpiresAt: at(time.Hour)}); err == nil {
			t.Fatal("session of no user stored")
		}
		exp := at(time.Hour)
		tk := &identity.Token{UserID: u.ID, Name: "ci", Prefix: "lwt_abcdefgh", Hash: "th", CreatedAt: t0, ExpiresAt: &exp}
		if err := r.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
		if err := r.TouchToken(ctx, tk.ID, at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := r.RevokeToken(ctx, tk.ID, at(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := r.RevokeToken(ctx, tk.ID, at(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		gt, err := r.TokenByHash(ctx, "th")
		if err != nil {
			t.Fatal(err)
		}
		if !gt.LastUsed.Equal(at(time.Minute)) || !gt.RevokedAt.Equal(at(2*time.Minute)) || !gt.ExpiresAt.Equal(exp) || gt.Prefix != tk.Prefix {
			t.Fatalf("token read back %+v", gt)
		}
		if _, err := r.TokenByHash(ctx, "nope"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("missing token: %v", err)
		}
		if err := r.RevokeToken(ctx, 999, t0); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("revoke missing token: %v", err)
		}

		// Audit: 7 entries; filters; pages of 3 follow the cursor.
		for i := range 7 {
			e := &identity.AuditEntry{At: at(time.Duration(i) * time.Minute), ActorID: u.ID, ActorName: "acme", Role: identity.RoleContractor,
				Action: []string{"login", "POST /x", "user.create"}[i%3], Object: fmt.Sprint("obj ", i), Remote: "192.0.2.1",
				Outcome: identity.OutcomeOK, Detail: "d"}
			if i == 5 {
				e.ActorID, e.ActorName, e.Outcome, e.Remote = 0, "ghost", identity.OutcomeFailed, "192.0.2.9"
			}
			if err := r.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		objects := func(p identity.AuditPage) string {
			var s []string
			for _, e := range p.Entries {
				s = append(s, strings.TrimPrefix(e.Object, "obj "))
			}
			return strings.Join(s, ",")
		}
		for name, c := range map[string]struct {
			f    identity.AuditFilter
			want string
		}{
			"all":       {identity.AuditFilter{}, "6,5,4,3,2,1,0"},
			"actor":     {identity.AuditFilter{ActorID: u.ID}, "6,4,3,2,1,0"},
			"name":      {identity.AuditFilter{ActorName: "ghost"}, "5"},
			"actions":   {identity.AuditFilter{Actions: []string{"login", "user.create"}}, "6,5,3,2,0"},
			"outcome":   {identity.AuditFilter{Outcome: identity.OutcomeFailed}, "5"},
			"remote":    {identity.AuditFilter{Remote: "192.0.2.9"}, "5"},
			"time":      {identity.AuditFilter{Since: at(2 * time.Minute), Until: at(4 * time.Minute)}, "3,2"},
			"page size": {identity.AuditFilter{Limit: 2}, "6,5"},
		} {
			p, err := r.ListAudit(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := objects(p); got != c.want {
				t.Errorf("%s: %s, want %s", name, got, c.want)
			}
		}
		var pages []string
		f := identity.AuditFilter{Limit: 3}
		for {
			p, err := r.ListAudit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, objects(p))
			if p.Next == 0 {
				break
			}
			f.BeforeID = p.Next
		}
		if got := strings.Join(pages, " / "); got != "6,5,4 / 3,2,1 / 0" {
			t.Fatalf("pages %s", got)
		}
		p, err := r.ListAudit(ctx, identity.AuditFilter{Since: at(time.Hour)})
		if err != nil || p.Entries == nil || len(p.Entries) != 0 || p.Next != 0 {
			t.Fatalf("empty page %+v %v", p, err)
		}
		var e identity.AuditEntry
		p, _ = r.ListAudit(ctx, identity.AuditFilter{Limit: 1})
		e = p.Entries[0]
		if !e.At.Equal(at(6*time.Minute)) || e.Role != identity.RoleContractor || e.Detail != "d" || e.Remote != "192.0.2.1" {
			t.Fatalf("entry read back %+v", e)
		}
		var n int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if n != 7 {
			t.Fatalf("%d audit rows", n)
		}
	})
}

// TestIdentitySetPassword: a new password replaces the old one and ends the
// account's sessions; only an admin may set another's; the demo's accounts
// started again get new passwords that sign in.
func TestIdentitySetPassword(t *testing.T) { forEachBackend(t, testIdentitySetPassword) }

func testIdentitySetPassword(t *testing.T, db *DB) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	svc := identityService(t, db, clk)
	u, err := svc.CreateUser(ctx, identity.System("test"), identity.NewUser{Name: "li", Role: identity.RoleContractor,
		Scope: identity.Scope{Company: "ACME"}, Password: testPassword}, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := svc.Login(ctx, "li", testPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	other := identity.Actor{UserID: u.ID + 100, Name: "zhao", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"JW"}}}
	var forbidden *identity.ForbiddenError
	if err := svc.SetPassword(ctx, other, u.ID, "another long password", ""); !errors.As(err, &forbidden) {
		t.Fatalf("a manager set a contractor's password: %v", err)
	}
	var fe *identity.FieldError
	if err := svc.SetPassword(ctx, identity.System("test"), u.ID, "short", ""); !errors.As(err, &fe) || fe.Field != "password" {
		t.Fatalf("short password: %v", err)
	}
	if err := svc.SetPassword(ctx, identity.System("test"), u.ID+999, "another long password", ""); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := svc.SetPassword(ctx, identity.Actor{UserID: u.ID, Name: "li", Role: identity.RoleContractor}, u.ID, "another long password", ""); err != nil {
		t.Fatalf("own password: %v", err)
	}
	if _, _, err := svc.SessionActor(ctx, s.RawID); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("session after a password change: %v", err)
	}
	if _, err := svc.Login(ctx, "li", testPassword, "192.0.2.2"); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, err := svc.Login(ctx, "li", "another long password", "192.0.2.2"); err != nil {
		t.Fatalf("new password: %v", err)
	}

	sc := identity.DemoScope{Estates: []string{"JW"}, Company: "ACME", Lift: "JW-0001", Household: "502", Subdistrict: "jiangwan"}
	first, err := identity.CreateDemoAccounts(ctx, svc, sc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := identity.CreateDemoAccounts(ctx, svc, sc)
	if err != nil {
		t.Fatalf("demo accounts again: %v", err)
	}
	for i, a := range again {
		if a.User.ID != first[i].User.ID || a.Password == first[i].Password {
			t.Errorf("%s: again id %d password changed %v", a.User.Name, a.User.ID, a.Password != first[i].Password)
		}
		if _, err := svc.Login(ctx, a.User.Name, a.Password, "192.0.2.3"); err != nil {
			t.Errorf("%s with the new password: %v", a.User.Name, err)
		}
		if _, err := svc.Login(ctx, a.User.Name, first[i].Password, "192.0.2.4"); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Errorf("%s with the old password: %v", a.User.Name, err)
		}
	}
}

// TestIdentityAdministration: an account's role and scope replaced, the
// account disabled and enabled, all of its tokens revoked at once (and
// only its), an unknown account ErrNotFound; on both backends.
func TestIdentityAdministration(t *testing.T) { forEachBackend(t, testIdentityAdministration) }

func testIdentityAdministration(t *testing.T, db *DB) {
	ctx := context.Background()
	r := db.Identity()
	mk := func(name string) *identity.User {
		u := &identity.User{Name: name, Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"JW"}}, PasswordHash: "x", CreatedAt: t0}
		if err := r.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	a, b := mk("wang"), mk("li")
	sc := identity.Scope{Subdistrict: "jiangwan"}
	if err := r.SetUserRoleScope(ctx, a.ID, identity.RoleSubdistrict, sc); err != nil {
		t.Fatal(err)
	}
	if err := r.SetUserDisabled(ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	got, err := r.UserByID(ctx, a.ID)
	if err != nil || got.Role != identity.RoleSubdistrict || !reflect.DeepEqual(got.Scope, sc) || !got.Disabled {
		t.Fatalf("read back %+v %v", got, err)
	}
	if err := r.SetUserDisabled(ctx, a.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.UserByID(ctx, a.ID); got.Disabled {
		t.Fatal("still disabled")
	}
	for _, err := range []error{r.SetUserDisabled(ctx, 999, true), r.SetUserRoleScope(ctx, 999, identity.RoleAdmin, identity.Scope{})} {
		if !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
	}
	for i, u := range []*identity.User{a, a, a, b} {
		tok := &identity.Token{UserID: u.ID, Name: "t", Prefix: "lwt_x", Hash: fmt.Sprintf("%064d", i), CreatedAt: t0}
		if err := r.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := r.RevokeToken(ctx, tok.ID, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	n, err := r.RevokeUserTokens(ctx, a.ID, t0.Add(time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("revoked %d %v, want 2 (one was revoked already)", n, err)
	}
	ts, _ := r.UserTokens(ctx, a.ID)
	if !ts[0].RevokedAt.Equal(t0) || !ts[1].RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("revocation times %v %v", ts[0].RevokedAt, ts[1].RevokedAt)
	}
	if ts, _ := r.UserTokens(ctx, b.ID); ts[0].RevokedAt != nil {
		t.Fatal("another user's token revoked")
	}
}
