package identity_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/identity"
)

func actorOf(t *testing.T, e *env, name string) identity.Actor {
	t.Helper()
	u, err := e.db.Identity().UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.Actor(identity.ViaSession)
}

// TestTokenExpiryAndListing (issue 18, finding 4): a token expires after
// 90 days unless asked otherwise; "never" is an admin's explicit choice and
// never for an admin account; tokens are listed with their last use, a
// user's own or (an admin) anyone's.
func TestTokenExpiryAndListing(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	owner, manager, admin := actorOf(t, e, "owner"), actorOf(t, e, "manager"), actorOf(t, e, "admin")
	raw, tok, err := e.svc.IssueToken(ctx, owner, owner.UserID, "home assistant", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(start.Add(identity.DefaultTokenTTL)) {
		t.Fatalf("default expiry %v, want %v", tok.ExpiresAt, start.Add(identity.DefaultTokenTTL))
	}
	var fe *identity.FieldError
	if _, _, err := e.svc.IssueToken(ctx, owner, owner.UserID, "forever", identity.NeverExpires, ""); !errors.As(err, &fe) || fe.Field != "ttl" {
		t.Fatalf("an owner asked for a token that never expires: %v", err)
	}
	if _, _, err := e.svc.IssueToken(ctx, admin, admin.UserID, "forever", identity.NeverExpires, ""); !errors.As(err, &fe) || fe.Field != "ttl" {
		t.Fatalf("a never-expiring admin token: %v", err)
	}
	if _, _, err := e.svc.IssueToken(ctx, admin, owner.UserID, "long", identity.MaxTokenTTL+time.Hour, ""); !errors.As(err, &fe) || fe.Field != "ttl" {
		t.Fatalf("a token longer than the maximum: %v", err)
	}
	_, never, err := e.svc.IssueToken(ctx, admin, owner.UserID, "city platform", identity.NeverExpires, "")
	if err != nil || never.ExpiresAt != nil {
		t.Fatalf("an admin's explicit never-expiring token for an owner: %+v %v", never, err)
	}
	e.clk.Advance(time.Hour)
	if _, err := e.svc.TokenActor(ctx, raw); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.Tokens(ctx, owner, owner.UserID)
	if err != nil || len(list) != 2 {
		t.Fatalf("own tokens %+v %v", list, err)
	}
	if list[0].ID != tok.ID || list[0].LastUsed == nil || !list[0].LastUsed.Equal(start.Add(time.Hour)) || list[1].LastUsed != nil {
		t.Fatalf("last use not listed: %+v", list)
	}
	var forbidden *identity.ForbiddenError
	if _, err := e.svc.Tokens(ctx, manager, owner.UserID); !errors.As(err, &forbidden) {
		t.Fatalf("a manager listed an owner's tokens: %v", err)
	}
	if l, err := e.svc.Tokens(ctx, admin, owner.UserID); err != nil || len(l) != 2 {
		t.Fatalf("admin lists: %d %v", len(l), err)
	}
	if _, err := e.svc.Tokens(ctx, admin, 9999); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("tokens of no user: %v", err)
	}
	e.clk.Advance(identity.DefaultTokenTTL)
	if _, err := e.svc.TokenActor(ctx, raw); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("token after 90 days: %v", err)
	}
}

// TestPasswordChangeRevokesTokens (issue 18, finding 4: a token still
// worked after "user passwd").
func TestPasswordChangeRevokesTokens(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	owner := actorOf(t, e, "owner")
	raw, _, err := e.svc.IssueToken(ctx, owner, owner.UserID, "script", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetPassword(ctx, identity.System("cli"), owner.UserID, "a brand new password", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.TokenActor(ctx, raw); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("token after a password change: %v", err)
	}
}

// ended says whether a Watch's context has ended.
func ended(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// TestDisableAndRoleChangeEndEverything: disabling an account, or giving
// it another role or scope, ends its sessions, tokens and streams at once
// (no tick needed); an admin cannot disable or demote themselves; every
// change is audited.
func TestDisableAndRoleChangeEndEverything(t *testing.T) {
	never := func(time.Duration) (<-chan time.Time, func()) { return nil, func() {} } // no rechecks: only events
	e := newEnv(t, func(c *identity.Config) { c.Ticker = never })
	ctx := context.Background()
	admin := actorOf(t, e, "admin")
	id := e.ids["manager"]
	for _, step := range []struct {
		name   string
		change identity.UserChange
	}{
		{"scope", identity.UserChange{Scope: &identity.Scope{Estates: []string{"JW", "YX"}}}},
		{"role", identity.UserChange{Role: ptr(identity.RoleSubdistrict), Scope: &identity.Scope{Subdistrict: "jiangwan"}}},
		{"disable", identity.UserChange{Disabled: ptr(true)}},
	} {
		if step.name == "disable" {
			// through the named method, as the others through UpdateUser
			step.change = identity.UserChange{}
		}
		res := e.login(t, "manager")
		sa, _, err := e.svc.SessionActor(ctx, res.RawID)
		if err != nil {
			t.Fatal(err)
		}
		raw, _, err := e.svc.IssueToken(ctx, admin, id, "x", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		ta, err := e.svc.TokenActor(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop1 := e.svc.Watch(ctx, sa)
		tctx, stop2 := e.svc.Watch(ctx, ta)
		other, stop3 := e.svc.Watch(ctx, actorOf(t, e, "owner"))
		var err2 error
		if step.name == "disable" {
			err2 = e.svc.DisableUser(ctx, admin, id, "192.0.2.9")
		} else {
			_, err2 = e.svc.UpdateUser(ctx, admin, id, step.change, "192.0.2.9")
		}
		if err2 != nil {
			t.Fatalf("%s: %v", step.name, err2)
		}
		if !ended(sctx) || !ended(tctx) {
			t.Errorf("%s: streams still open: session %v token %v", step.name, ended(sctx), ended(tctx))
		}
		if ended(other) {
			t.Errorf("%s: another user's stream ended", step.name)
		}
		if _, _, err := e.svc.SessionActor(ctx, res.RawID); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("%s: session still valid: %v", step.name, err)
		}
		if _, err := e.svc.TokenActor(ctx, raw); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("%s: token still valid: %v", step.name, err)
		}
		stop1()
		stop2()
		stop3()
	}
	if _, err := e.svc.Login(ctx, "manager", pw, "192.0.2.1"); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatalf("disabled account signed in: %v", err)
	}
	if err := e.svc.EnableUser(ctx, admin, id, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, "manager", pw, "192.0.2.1"); err != nil {
		t.Fatalf("enabled account: %v", err)
	}
	var fe *identity.FieldError
	if _, err := e.svc.UpdateUser(ctx, admin, admin.UserID, identity.UserChange{Disabled: ptr(true)}, ""); !errors.As(err, &fe) || fe.Field != "disabled" {
		t.Fatalf("admin disabled themselves: %v", err)
	}
	if err := e.svc.SetRoleScope(ctx, admin, admin.UserID, identity.RoleOwner, identity.Scope{Lift: "JW-0001", Household: "1"}, ""); !errors.As(err, &fe) || fe.Field != "role" {
		t.Fatalf("admin demoted themselves: %v", err)
	}
	if _, err := e.svc.UpdateUser(ctx, admin, id, identity.UserChange{Role: ptr(identity.RoleContractor)}, ""); !errors.As(err, &fe) {
		t.Fatalf("contractor with a subdistrict's scope: %v", err)
	}
	var forbidden *identity.ForbiddenError
	if _, err := e.svc.UpdateUser(ctx, actorOf(t, e, "manager"), e.ids["owner"], identity.UserChange{Disabled: ptr(true)}, ""); !errors.As(err, &forbidden) {
		t.Fatalf("a manager disabled an owner: %v", err)
	}
	pg, err := e.svc.AuditLog(ctx, admin, identity.AuditFilter{Actions: []string{"user.role", "user.disable", "user.enable"}})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, a := range pg.Entries {
		acts = append(acts, a.Action)
	}
	if !slices.Equal(acts, []string{"user.enable", "user.disable", "user.role", "user.role"}) {
		t.Fatalf("audit %v", acts)
	}
}

func ptr[T any](v T) *T { return &v }

// TestWatchRechecksTheStore: a revocation made elsewhere (another process
// on the same database: the CLI's "user passwd") ends a stream at the next
// recheck tick; a tick with the credential still good does not.
func TestWatchRechecksTheStore(t *testing.T) {
	ticks := make(chan time.Time)
	e := newEnv(t, func(c *identity.Config) {
		c.Ticker = func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} }
	})
	ctx := context.Background()
	res := e.login(t, "owner")
	a, _, err := e.svc.SessionActor(ctx, res.RawID)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := e.svc.Watch(ctx, a)
	defer stop()
	// An open stream is use of its session: 100 minutes of nothing but
	// the stream outlive the hour of idle timeout.
	h := hashOf(res.RawID)
	for range 2 {
		at := e.clk.Advance(50 * time.Minute)
		ticks <- start // the goroutine took it: a check runs
		// Wait for the check to have touched the session before moving
		// the clock again (the check runs beside this goroutine).
		deadline := time.Now().Add(10 * time.Second)
		for {
			sess, err := e.db.Identity().SessionByHash(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			if sess.LastSeen.Equal(at) {
				break
			}
			if ended(wctx) || time.Now().After(deadline) {
				t.Fatalf("the recheck did not keep the session alive: last seen %v, want %v; stream ended %v", sess.LastSeen, at, ended(wctx))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if ended(wctx) {
		t.Fatal("a stream with a good session ended")
	}
	if _, _, err := e.svc.SessionActor(ctx, res.RawID); err != nil {
		t.Fatalf("the session of an open stream timed out idle: %v", err)
	}
	cli, err := identity.NewService(e.db.Identity(), identity.Config{Now: e.clk.Now, Params: fast})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.SetPassword(ctx, identity.System("cli"), a.UserID, "a brand new password", ""); err != nil {
		t.Fatal(err)
	}
	if ended(wctx) {
		t.Fatal("ended before a recheck: the test would prove nothing")
	}
	ticks <- start
	select {
	case <-wctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the recheck after a password change elsewhere did not end the stream")
	}
	if !errors.Is(context.Cause(wctx), identity.ErrUnauthenticated) {
		t.Fatalf("cause %v", context.Cause(wctx))
	}
}

// lifts is a Directory of fixed lifts' estates.
type lifts map[string]string

func (l lifts) LiftScope(_ context.Context, lift string) (identity.LiftScope, error) {
	if e, ok := l[lift]; ok {
		return identity.LiftScope{Estate: e}, nil
	}
	return identity.LiftScope{}, identity.ErrNotFound
}

func (l lifts) EstateSubdistrict(context.Context, string) (string, error) {
	return "", identity.ErrNotFound
}

// TestManagerSeesAccountsOfTheirEstates: a manager lists the managers
// sharing an estate (and themselves) and the owners of lifts in their
// estates, not contractors, admins, managers or owners of other estates;
// an account they may not see answers like an unknown one.
func TestManagerSeesAccountsOfTheirEstates(t *testing.T) {
	e := newEnv(t, func(c *identity.Config) { c.Directory = lifts{"JW-0001": "JW", "YX-0001": "YX"} })
	ctx := context.Background()
	for _, nu := range []identity.NewUser{
		{Name: "zhao", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"YX", "JW"}}},
		{Name: "qian", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"YX"}}},
		{Name: "acme", Role: identity.RoleContractor, Scope: identity.Scope{Company: "ACME"}},
		{Name: "yx-owner", Role: identity.RoleOwner, Scope: identity.Scope{Lift: "YX-0001", Household: "1-101"}},
	} {
		nu.Password = pw
		u, err := e.svc.CreateUser(ctx, identity.System("test"), nu, "")
		if err != nil {
			t.Fatal(err)
		}
		e.ids[u.Name] = u.ID
	}
	m := actorOf(t, e, "manager")
	us, err := e.svc.Users(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"manager", "owner", "zhao"}) {
		t.Fatalf("manager sees %v", names)
	}
	for _, other := range []string{"qian", "yx-owner", "acme", "admin"} {
		if _, err := e.svc.User(ctx, m, e.ids[other]); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("%s: %v", other, err)
		}
	}
	if u, err := e.svc.User(ctx, m, e.ids["zhao"]); err != nil || u.Name != "zhao" {
		t.Fatalf("a fellow manager: %v", err)
	}
	var forbidden *identity.ForbiddenError
	if _, err := e.svc.Users(ctx, actorOf(t, e, "owner")); !errors.As(err, &forbidden) {
		t.Fatalf("an owner listed accounts: %v", err)
	}
	all, err := e.svc.Users(ctx, actorOf(t, e, "admin"))
	if err != nil || len(all) != 7 {
		t.Fatalf("admin sees %d %v", len(all), err)
	}
}

func hashOf(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}
