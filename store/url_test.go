package store

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
)

// TestCheckURL: --store.url takes "" (SQLite) or postgres(ql)://host…; any
// other scheme or an unparsable URL is refused, and no message shows the
// password.
func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url, want string // want "": accepted
	}{
		{"", ""},
		{"postgres://u:pw@db:5432/lw", ""},
		{"postgresql://db/lw?sslmode=require&search_path=x", ""},
		{"mysql://u:pw@db/lw", `scheme "mysql" not supported`},
		{"sqlite:///var/lib/lw.db", `scheme "sqlite" not supported`},
		{"db.example:5432", `scheme "db.example" not supported`},
		{"postgres:///lw", "no host"},
		{"postgres://u:pw@db:port/lw", "not a URL"},
		{"postgres://u:p w%zz@db/lw", "not a URL"},
	} {
		err := CheckURL(c.url)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.url, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: %v, want %q", c.url, err, c.want)
		case err != nil && strings.Contains(err.Error(), "pw"):
			t.Errorf("%q: the message shows the password: %v", c.url, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://lw:s3cret@db:5432/lw?sslmode=require":  "postgres://lw:xxx@db:5432/lw?sslmode=require",
		"postgres://lw@db/lw":                              "postgres://lw@db/lw",
		"postgres://db/lw?password=s3cret&sslmode=require": "postgres://db/lw?password=xxx&sslmode=require",
		"postgres://u:p w%zz@db/lw":                        "(not a URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenURLUnreachable: a server that does not answer is an error that
// says so and never shows the password, in the URL or as ?password=.
func TestOpenURLUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, u := range []string{
		fmt.Sprintf("postgres://lw:s3cret-pw@%s/lw?connect_timeout=5", addr),
		fmt.Sprintf("postgres://lw@%s/lw?password=s3cret-pw&connect_timeout=5", addr),
	} {
		db, err := OpenURL(ctx, u, "")
		if err == nil {
			db.Close()
			t.Fatalf("%s: opened", Redact(u))
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "connect postgres") {
			t.Errorf("the error does not say it could not connect: %v", err)
		}
	}
}

// TestOpenURLAndPopulated: OpenURL opens and migrates SQLite or PostgreSQL;
// Populated is false on a fresh database and true once it has lifts, and
// creates nothing itself.
func TestOpenURLAndPopulated(t *testing.T) {
	testrig.ForEachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		file := filepath.Join(t.TempDir(), "lw.db")
		if got, err := Populated(ctx, url, file); err != nil || got {
			t.Fatalf("fresh: populated %v, %v", got, err)
		}
		db, err := OpenURL(ctx, url, file)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if want := map[string]string{"": "sqlite"}[url]; want == "" && db.Dialect.Name != "postgres" || want != "" && db.Dialect.Name != want {
			t.Fatalf("dialect %s for %q", db.Dialect.Name, Redact(url))
		}
		if url != "" { // an empty SQLite file is an earlier run's; an empty schema is not
			if got, err := Populated(ctx, url, file); err != nil || got {
				t.Fatalf("migrated, no lifts: populated %v, %v", got, err)
			}
		}
		if err := db.Lifts().UpsertLifts(ctx, []registry.Lift{{ID: "T-1", RegCode: "r", Estate: "e", Landings: 2, RatedSpeed: 1, InstallDate: "2000-01-01"}}); err != nil {
			t.Fatal(err)
		}
		if got, err := Populated(ctx, url, file); err != nil || !got {
			t.Fatalf("with a lift: populated %v, %v", got, err)
		}
	})
}
