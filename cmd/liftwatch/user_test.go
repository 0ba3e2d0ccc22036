package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/store"
)

// TestUserAdd: "liftwatch user add" creates an account whose password logs
// in, never echoes a password read from stdin, prints a generated one once,
// and answers bad input with exit code 2 naming the flag.
func TestUserAdd(t *testing.T) {
	dir := t.TempDir()
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := userCommand(context.Background(), args, strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	const secret = "s3cret-horse-battery"
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", nil, "Usage: liftwatch user add"},
		{"", []string{"remove"}, `unknown subcommand "remove"`},
		{"", []string{"add", "--data.dir", dir, "--role", "admin"}, "--name is required"},
		{"", []string{"add", "--data.dir", dir, "--name", "root"}, "--role is required"},
		{"", []string{"add", "--data.dir", dir, "--name", "root", "--role", "god"}, "--role: unknown role"},
		{"", []string{"add", "--data.dir", dir, "--name", "Bad Name", "--role", "admin"}, "--name:"},
		{"", []string{"add", "--data.dir", dir, "--name", "wang", "--role", "manager"}, "--estates:"},
		{"", []string{"add", "--data.dir", dir, "--name", "li", "--role", "owner", "--lift", "JW-0001"}, "--household:"},
		{"", []string{"add", "--data.dir", dir, "--name", "root", "--role", "admin", "--company", "x"}, "--company:"},
		{"short\n", []string{"add", "--data.dir", dir, "--name", "root", "--role", "admin", "--password-stdin"}, "--password-stdin: must have at least"},
		{"\n", []string{"add", "--data.dir", dir, "--name", "root", "--role", "admin", "--password-stdin"}, "--password-stdin: standard input gave an empty password"},
		{"", []string{"add", "--data.dir", dir, "--name", "root", "--role", "admin", "--bogus"}, "unknown flag --bogus"},
	} {
		code, out, errs := run(c.stdin, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
		if out != "" {
			t.Errorf("%v: stdout %q on bad input", c.args, out)
		}
	}

	code, out, errs := run(secret+"\n", "add", "--data.dir", dir, "--name", "root", "--role", "admin", "--password-stdin")
	if code != 0 || !strings.Contains(out, `created user 1 "root", role admin`) {
		t.Fatalf("add admin: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if strings.Contains(out+errs, secret) {
		t.Fatalf("the password is echoed: %q %q", out, errs)
	}
	code, _, errs = run(secret+"\n", "add", "--data.dir", dir, "--name", "ROOT", "--role", "admin", "--password-stdin")
	if code != 2 || !strings.Contains(errs, `--name: user "root" already exists`) {
		t.Fatalf("duplicate: exit %d, stderr %q", code, errs)
	}
	code, out, errs = run("", "add", "--data.dir", dir, "--name", "wang", "--role", "manager", "--estates", "JW, YX")
	m := regexp.MustCompile(`password \(shown once, keep it safe\): (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("generated password: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "liftwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := identity.NewService(db.Identity(), identity.Config{Now: func() time.Time { return time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Login(context.Background(), "root", secret, "127.0.0.1")
	if err != nil || res.Actor.Role != identity.RoleAdmin {
		t.Fatalf("admin login with the stdin password: %+v %v", res, err)
	}
	res, err = svc.Login(context.Background(), "wang", m[1], "127.0.0.1")
	if err != nil || res.Actor.Role != identity.RoleManager || strings.Join(res.Actor.Scope.Estates, ",") != "JW,YX" {
		t.Fatalf("manager login with the generated password: %+v %v", res, err)
	}

	// A forgotten password is set again; bad input names the flag.
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"passwd", "--data.dir", dir}, "--name is required"},
		{"", []string{"passwd", "--data.dir", dir, "--name", "nobody"}, `--name: no user "nobody"`},
		{"short\n", []string{"passwd", "--data.dir", dir, "--name", "wang", "--password-stdin"}, "--password-stdin: must have at least"},
	} {
		if code, out, errs := run(c.stdin, c.args...); code != 2 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	const newSecret = "a-new-horse-battery"
	if code, out, errs := run(newSecret+"\n", "passwd", "--data.dir", dir, "--name", "WANG", "--password-stdin"); code != 0 ||
		!strings.Contains(out, `password of "wang" set`) || strings.Contains(out+errs, newSecret) {
		t.Fatalf("passwd: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// That the sessions end is store.TestIdentitySetPassword's (one clock).
	if _, err := svc.Login(context.Background(), "wang", m[1], "127.0.0.1"); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatalf("old password after passwd: %v", err)
	}
	if _, err := svc.Login(context.Background(), "wang", newSecret, "127.0.0.1"); err != nil {
		t.Fatalf("new password after passwd: %v", err)
	}
}

// TestUserToken: "liftwatch user token" issues (the old form and "issue")
// with a 90-day default expiry, refuses --ttl 0 (it no longer means
// forever) and a never-expiring admin token, lists tokens with their last
// use and revokes one; bad input exits 2 naming the flag.
func TestUserToken(t *testing.T) {
	dir := t.TempDir()
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := userCommand(context.Background(), args, strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	for _, u := range [][]string{{"root", "--role", "admin"}, {"wang", "--role", "manager", "--estates", "JW"}} {
		if code, _, errs := run("", append([]string{"add", "--data.dir", dir, "--name", u[0]}, u[1:]...)...); code != 0 {
			t.Fatalf("add %s: %s", u[0], errs)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "--data.dir", dir, "--name", "wang", "--for", "x", "--ttl", "0"}, "--ttl \"0\": a token's life must be positive"},
		{[]string{"token", "issue", "--data.dir", dir, "--name", "root", "--for", "x", "--ttl", "never"}, "--ttl: an admin account's tokens must expire"},
		{[]string{"token", "--data.dir", dir, "--name", "wang", "--for", "x", "--ttl", "9000h"}, "--ttl: 9000h0m0s is longer than 366 days"},
		{[]string{"token", "--data.dir", dir, "--name", "wang", "--for", "x", "--ttl", "soon"}, `--ttl "soon" is not a duration`},
		{[]string{"token", "burn", "--data.dir", dir}, `unknown subcommand "burn"`},
		{[]string{"token", "list", "--data.dir", dir}, "--name is required"},
		{[]string{"token", "revoke", "--data.dir", dir, "--name", "wang"}, "--id is required"},
		{[]string{"token", "revoke", "--data.dir", dir, "--name", "wang", "--id", "99"}, `--id: user "wang" has no token 99`},
	} {
		if code, out, errs := run("", c.args...); code != 2 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	code, out, errs := run("", "token", "--data.dir", dir, "--name", "wang", "--for", "city platform")
	if code != 0 || !strings.HasPrefix(out, identity.TokenPrefix) || !strings.Contains(errs, "expires "+time.Now().UTC().Add(90*24*time.Hour).Format("2006-01-02")) {
		t.Fatalf("issue (old form): exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, errs = run("", "token", "issue", "--data.dir", dir, "--name", "wang", "--for", "forever", "--ttl", "never"); code != 0 || !strings.Contains(errs, "never expires") {
		t.Fatalf("issue never: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = run("", "token", "list", "--data.dir", dir, "--name", "wang")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[1], "active") || !strings.Contains(lines[1], `"city platform"`) ||
		!strings.Contains(lines[1], "never") || !strings.HasSuffix(strings.Join(strings.Fields(lines[2]), " "), `never never "forever"`) {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	if code, out, errs = run("", "token", "revoke", "--data.dir", dir, "--name", "wang", "--id", "1"); code != 0 || out != "token 1 of \"wang\" revoked\n" {
		t.Fatalf("revoke: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if _, out, _ = run("", "token", "list", "--data.dir", dir, "--name", "wang"); !strings.Contains(strings.Split(out, "\n")[1], "revoked") {
		t.Fatalf("list after revoke:\n%s", out)
	}
}
