package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/store"
)

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return userCommand(ctx, args, os.Stdin, stdout, stderr)
}

// userCommand is "liftwatch user <sub>"; stdin is where --password-stdin reads.
func userCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "Usage: liftwatch user add --name NAME --role ROLE [scope flags] [--password-stdin]\n"+
			"       liftwatch user passwd --name NAME [--password-stdin]\n"+
			"       liftwatch user token [issue] --name NAME --for PURPOSE [--ttl DURATION|never]\n"+
			"       liftwatch user token list --name NAME\n"+
			"       liftwatch user token revoke --name NAME --id ID\n\nRun \"liftwatch user <sub> --help\" for the flags.")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "add":
		return userAdd(ctx, args[1:], stdin, stdout, stderr)
	case "passwd":
		return userPasswd(ctx, args[1:], stdin, stdout, stderr)
	case "token":
		return userToken(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "liftwatch user: unknown subcommand %q (want add, passwd or token)\n", args[0])
	return 2
}

// scopeFlags maps a field of identity.FieldError to the flag that sets it.
var userFieldFlags = map[string]string{
	"name": "--name", "role": "--role", "estates": "--estates", "company": "--company", "lift": "--lift",
	"household": "--household", "subdistrict": "--subdistrict", "password": "--password-stdin",
}

func userAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("user add", "Creates an account in the database (embedded, or --store.url), e.g. the first admin. The password is read from\n"+
		"standard input with --password-stdin (one line, never echoed); without it a random one is generated and printed once.", stderr)
	db := userStoreFlags(fs)
	name := fs.String("name", "", "login name: 1-64 of a-z 0-9 . _ @ -")
	roleS := fs.String("role", "", "role: admin, manager, contractor, owner or subdistrict")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	estates := fs.String("estates", "", "manager: comma-separated estate slugs they manage")
	company := fs.String("company", "", "contractor: the company, as lifts' contractor names it")
	lift := fs.String("lift", "", "owner: their lift's ID")
	household := fs.String("household", "", "owner: their household (e.g. 12-302)")
	subdistrict := fs.String("subdistrict", "", "subdistrict: its name")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "liftwatch user add: "+format+"\n", a...)
		return 2
	}
	if *name == "" {
		return bad("--name is required")
	}
	if *roleS == "" {
		return bad("--role is required (admin, manager, contractor, owner or subdistrict)")
	}
	role, err := identity.ParseRole(*roleS)
	if err != nil {
		return bad("--role: %v", err)
	}
	sc := identity.Scope{Company: *company, Lift: *lift, Household: *household, Subdistrict: *subdistrict}
	if *estates != "" {
		for _, e := range strings.Split(*estates, ",") {
			sc.Estates = append(sc.Estates, strings.TrimSpace(e))
		}
	}
	password, generated, err := readPassword(*pwStdin, stdin)
	if err != nil {
		return bad("%v", err)
	}
	nu := identity.NewUser{Name: *name, Role: role, Scope: sc, Password: password}
	fieldErr := func(err error) int {
		var fe *identity.FieldError
		if errors.As(err, &fe) {
			return bad("%s: %s", userFieldFlags[fe.Field], fe.Msg)
		}
		return 0
	}
	if err := nu.Validate(); err != nil {
		if code := fieldErr(err); code != 0 {
			return code
		}
		return bad("%v", err)
	}
	if *db.url == "" {
		if err := os.MkdirAll(*db.dataDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "liftwatch user add: --data.dir %s: %v\n", *db.dataDir, err)
			return 2
		}
	}
	sdb, code := db.open(ctx, "add", stderr)
	if code != 0 {
		return code
	}
	defer sdb.Close()
	svc, err := identity.NewService(sdb.Identity(), identity.Config{Now: time.Now, Log: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch user add: %v\n", err)
		return 1
	}
	u, err := svc.CreateUser(ctx, identity.System("cli"), nu, "")
	if err != nil {
		if code := fieldErr(err); code != 0 {
			return code
		}
		fmt.Fprintf(stderr, "liftwatch user add: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "created user %d %q, role %s\n", u.ID, u.Name, u.Role)
	if generated {
		fmt.Fprintf(stdout, "password (shown once, keep it safe): %s\n", password)
	}
	return 0
}

// readPassword reads the first line of stdin (--password-stdin) or makes a
// random password (generated: print it once).
func readPassword(fromStdin bool, stdin io.Reader) (pw string, generated bool, err error) {
	if !fromStdin {
		var b [15]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", false, err
		}
		return fmt.Sprintf("%x", b[:])[:20], true, nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, identity.MaxPasswordLen+3)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("--password-stdin: reading standard input: %w", err)
	}
	pw = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if pw == "" {
		return "", false, errors.New("--password-stdin: standard input gave an empty password")
	}
	return pw, false, nil
}

// userPasswd sets an account's password (a forgotten one, a leaked one) and
// ends its sessions.
func userPasswd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("user passwd", "Sets an account's password and signs it out everywhere. The password is read from standard\n"+
		"input with --password-stdin; without it a random one is generated and printed once.", stderr)
	db := userStoreFlags(fs)
	name := fs.String("name", "", "the account")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "liftwatch user passwd: "+format+"\n", a...)
		return 2
	}
	if *name == "" {
		return bad("--name is required")
	}
	password, generated, err := readPassword(*pwStdin, stdin)
	if err != nil {
		return bad("%v", err)
	}
	var fe *identity.FieldError
	if err := identity.CheckPasswordPolicy(password); errors.As(err, &fe) {
		return bad("--password-stdin: %s", fe.Msg)
	} else if err != nil {
		return bad("--password-stdin: %v", err)
	}
	svc, u, closeDB, code := openAccount(ctx, "passwd", db, *name, stderr)
	if code != 0 {
		return code
	}
	defer closeDB()
	if err := svc.SetPassword(ctx, identity.System("cli"), u.ID, password, ""); err != nil {
		fmt.Fprintf(stderr, "liftwatch user passwd: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "password of %q set; its sessions and API tokens are ended\n", u.Name)
	if generated {
		fmt.Fprintf(stdout, "password (shown once, keep it safe): %s\n", password)
	}
	return 0
}

// userStore is the database flags of "liftwatch user <sub>", as serve's:
// --store.url (PostgreSQL) or the embedded database in --data.dir.
type userStore struct{ dataDir, url *string }

func userStoreFlags(fs *flag.FlagSet) userStore {
	return userStore{
		dataDir: fs.String("data.dir", "./data", "directory of the embedded database (as for serve)"),
		url:     fs.String("store.url", "", "PostgreSQL database, as serve's --store.url (postgres://user:password@host:5432/db); empty: the embedded database in --data.dir"),
	}
}

// open opens the database the flags name. A non-zero code means it has
// said what went wrong (2: a bad --store.url; 1: it could not be opened).
func (s userStore) open(ctx context.Context, sub string, stderr io.Writer) (*store.DB, int) {
	if err := store.CheckURL(*s.url); err != nil {
		fmt.Fprintf(stderr, "liftwatch user %s: --store.url %s: %v\n", sub, store.Redact(*s.url), err)
		return nil, 2
	}
	file := filepath.Join(*s.dataDir, "liftwatch.db")
	db, err := store.OpenURL(ctx, *s.url, file)
	if err != nil {
		if *s.url != "" {
			fmt.Fprintf(stderr, "liftwatch user %s: --store.url %s: %v\n", sub, store.Redact(*s.url), err)
		} else {
			fmt.Fprintf(stderr, "liftwatch user %s: database in --data.dir %s: %v\n", sub, *s.dataDir, err)
		}
		return nil, 1
	}
	return db, 0
}

// openAccount opens the database, finds the account name and makes the
// identity service, for "liftwatch user <sub>". A non-zero code means it
// has said what went wrong (2: bad --name or --store.url).
func openAccount(ctx context.Context, sub string, s userStore, name string, stderr io.Writer) (*identity.Service, *identity.User, func(), int) {
	db, code := s.open(ctx, sub, stderr)
	if code != 0 {
		return nil, nil, nil, code
	}
	u, err := db.Identity().UserByName(ctx, identity.NormalizeName(name))
	if errors.Is(err, identity.ErrNotFound) {
		db.Close()
		fmt.Fprintf(stderr, "liftwatch user %s: --name: no user %q (create it with liftwatch user add)\n", sub, name)
		return nil, nil, nil, 2
	}
	var svc *identity.Service
	if err == nil {
		svc, err = identity.NewService(db.Identity(), identity.Config{Now: time.Now, Log: slog.New(slog.NewTextHandler(stderr, nil))})
	}
	if err != nil {
		db.Close()
		fmt.Fprintf(stderr, "liftwatch user %s: %v\n", sub, err)
		return nil, nil, nil, 1
	}
	return svc, u, func() { db.Close() }, 0
}
