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
