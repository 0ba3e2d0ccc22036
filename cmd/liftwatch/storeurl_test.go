package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/store"
)

// TestStoreURLRefused: a --store.url (or LIFTWATCH_STORE_URL) that is not
// postgres:// or not a URL is a setting to change: exit 2 naming the flag,
// before anything is opened, and no message shows the password.
func TestStoreURLRefused(t *testing.T) {
	dir := t.TempDir()
	http := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"serve", "--data.dir", dir, "--http.listen", http, "--store.url", "mysql://lw:s3cret@db/lw"}, nil, `store.url mysql://lw:xxx@db/lw: scheme "mysql" not supported`},
		{[]string{"serve", "--data.dir", dir, "--http.listen", http}, []string{"LIFTWATCH_STORE_URL=postgres://lw:s3cret@db:port/lw"}, "store.url (not a URL): not a URL"},
		{[]string{"demo", "--http.listen", http, "--store.url", "sqlite:///tmp/lw.db"}, nil, `store.url sqlite:///tmp/lw.db: scheme "sqlite" not supported`},
		{[]string{"user", "add", "--data.dir", dir, "--name", "root", "--role", "admin", "--store.url", "mysql://lw:s3cret@db/lw"}, nil, `--store.url mysql://lw:xxx@db/lw: scheme "mysql" not supported`},
		{[]string{"user", "passwd", "--data.dir", dir, "--name", "root", "--store.url", "postgres:///lw"}, nil, "--store.url postgres:///lw: no host"},
		{[]string{"user", "token", "--data.dir", dir, "--name", "root", "--for", "x", "--store.url", "db:5432"}, nil, `--store.url db:5432: scheme "db" not supported`},
	} {
		code, out, errs := runCLI(c.args, c.env...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 and %q", c.args, c.env, code, errs, c.want)
		}
		if strings.Contains(out+errs, "s3cret") {
			t.Errorf("%v %v: the password is shown: %q %q", c.args, c.env, out, errs)
		}
	}
}

// TestStoreURLUnreachable: a PostgreSQL server that does not answer at
// start is an error (exit 1) naming --store.url, with the password hidden.
func TestStoreURLUnreachable(t *testing.T) {
	url := fmt.Sprintf("postgres://lw:s3cret@127.0.0.1:%d/lw?connect_timeout=5", testrig.FreePort(t))
	for _, args := range [][]string{
		{"serve", "--data.dir", t.TempDir(), "--http.listen", fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t)), "--store.url", url},
		{"user", "add", "--data.dir", t.TempDir(), "--name", "root", "--role", "admin", "--store.url", url},
	} {
		code, out, errs := runCLI(args)
		if code != 1 || !strings.Contains(errs, "--store.url postgres://lw:xxx@127.0.0.1:") || !strings.Contains(errs, "connect postgres") {
			t.Errorf("%s: exit %d, stderr %q; want 1 naming --store.url and the failed connection", args[0], code, errs)
		}
		if strings.Contains(out+errs, "s3cret") {
			t.Errorf("%s: the password is shown: %q %q", args[0], out, errs)
		}
	}
}

// TestUserOnPostgres: the first admin of a PostgreSQL deployment is made
// with "liftwatch user add --store.url", and its password set again with
// passwd, in that database (not in --data.dir).
func TestUserOnPostgres(t *testing.T) {
	url := testrig.PostgresSchema(t)
	dir := t.TempDir()
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := userCommand(context.Background(), args, strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	const secret, newSecret = "s3cret-horse-battery", "a-new-horse-battery"
	if code, out, errs := run(secret+"\n", "add", "--data.dir", dir, "--store.url", url, "--name", "root", "--role", "admin", "--password-stdin"); code != 0 || !strings.Contains(out, `created user 1 "root", role admin`) {
		t.Fatalf("add: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, errs := run(newSecret+"\n", "passwd", "--data.dir", dir, "--store.url", url, "--name", "root", "--password-stdin"); code != 0 {
		t.Fatalf("passwd: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := run("", "passwd", "--data.dir", dir, "--name", "root"); code != 2 || !strings.Contains(errs, `--name: no user "root"`) {
		t.Fatalf("without --store.url the account must not be in --data.dir's database: exit %d, stderr %q", code, errs)
	}
	db, err := store.OpenURL(context.Background(), url, filepath.Join(dir, "unused.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := identity.NewService(db.Identity(), identity.Config{Now: func() time.Time { return time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := svc.Login(context.Background(), "root", newSecret, "127.0.0.1"); err != nil || res.Actor.Role != identity.RoleAdmin {
		t.Fatalf("admin login on PostgreSQL with the new password: %+v %v", res, err)
	}
}
