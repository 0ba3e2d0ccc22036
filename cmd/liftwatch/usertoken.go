package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/liftwatch/liftwatch/identity"
)

// userToken is "liftwatch user token": issue (also the old form without a
// sub-command, "user token --name … --for …"), list and revoke.
func userToken(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "issue":
			return userTokenIssue(ctx, args[1:], stdout, stderr)
		case "list":
			return userTokenList(ctx, args[1:], stdout, stderr)
		case "revoke":
			return userTokenRevoke(ctx, args[1:], stdout, stderr)
		}
		if !strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(stderr, "liftwatch user token: unknown subcommand %q (want issue, list or revoke)\n", args[0])
			return 2
		}
	}
	return userTokenIssue(ctx, args, stdout, stderr)
}

// parseTTL reads --ttl: "" is the default (identity.DefaultTokenTTL),
// "never" a token valid until revoked, else a Go duration or a number of
// days ("30d"). 0 no longer means forever: it is refused, so an old script
// that meant "forever" learns that it must say so.
func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return 0, nil
	case s == "never":
		return identity.NeverExpires, nil
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a number of days (e.g. 30d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 720h, 30d) or never", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: a token's life must be positive; leave --ttl out for %s, or say never for a token valid until revoked (admins issue those, not for admin accounts)",
			s, days(identity.DefaultTokenTTL))
	}
	return d, nil
}

func days(d time.Duration) string { return fmt.Sprintf("%d days", int(d/(24*time.Hour))) }

// userTokenIssue issues an API token for an account (integrations,
// scripts: Authorization: Bearer <token>) and prints it once; only its
// hash is kept.
func userTokenIssue(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("user token issue", "Issues an API token for an account and prints it once (send it as Authorization: Bearer <token>).\n"+
		"It expires after "+days(identity.DefaultTokenTTL)+" unless --ttl says otherwise (at most "+days(identity.MaxTokenTTL)+", or never).", stderr)
	db := userStoreFlags(fs)
	name := fs.String("name", "", "the account the token acts as")
	purpose := fs.String("for", "", "what the token is for, e.g. \"city platform export\"")
	ttlS := fs.String("ttl", "", "how long the token is valid: a duration (720h) or days (30d); empty: "+days(identity.DefaultTokenTTL)+
		"; never: until revoked (not for admin accounts)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "liftwatch user token: "+format+"\n", a...)
		return 2
	}
	ttl, err := parseTTL(*ttlS)
	switch {
	case *name == "":
		return bad("--name is required")
	case strings.TrimSpace(*purpose) == "":
		return bad("--for is required: say what the token is for")
	case err != nil:
		return bad("--ttl %v", err)
	}
	svc, u, closeDB, code := openAccount(ctx, "token", db, *name, stderr)
	if code != 0 {
		return code
	}
	defer closeDB()
	raw, tok, err := svc.IssueToken(ctx, identity.System("cli"), u.ID, *purpose, ttl, "")
	var fe *identity.FieldError
	if errors.As(err, &fe) {
		return bad("--%s: %s", map[string]string{"name": "for", "user": "name", "ttl": "ttl"}[fe.Field], fe.Msg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch user token: %v\n", err)
		return 1
	}
	exp := "never expires"
	if tok.ExpiresAt != nil {
		exp = "expires " + tok.ExpiresAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stderr, "token %d (%s) for user %q, role %s, %s; shown once, keep it safe:\n", tok.ID, tok.Prefix, u.Name, u.Role, exp)
	fmt.Fprintln(stdout, raw)
	return 0
}

// userTokenList prints an account's tokens with their last use.
func userTokenList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("user token list", "Lists an account's API tokens (never the tokens themselves): id, prefix, state, last use, expiry, purpose.", stderr)
	db := userStoreFlags(fs)
	name := fs.String("name", "", "the account")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *name == "" {
		fmt.Fprintln(stderr, "liftwatch user token list: --name is required")
		return 2
	}
	svc, u, closeDB, code := openAccount(ctx, "token list", db, *name, stderr)
	if code != 0 {
		return code
	}
	defer closeDB()
	list, err := svc.Tokens(ctx, identity.System("cli"), u.ID)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch user token list: %v\n", err)
		return 1
	}
	when := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.UTC().Format(time.RFC3339)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tSTATE\tCREATED\tLAST USED\tEXPIRES\tFOR")
	for _, t := range list {
		st := "active"
		switch {
		case t.RevokedAt != nil:
			st = "revoked " + when(t.RevokedAt, "")
		case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
			st = "expired"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%q\n", t.ID, t.Prefix, st, when(&t.CreatedAt, ""), when(t.LastUsed, "never"),
			when(t.ExpiresAt, "never"), t.Name)
	}
	tw.Flush()
	if len(list) == 0 {
		fmt.Fprintf(stderr, "user %q has no API tokens\n", u.Name)
	}
	return 0
}

// userTokenRevoke revokes one of an account's tokens.
func userTokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("user token revoke", "Revokes one of an account's API tokens (its id from \"user token list\"). A running server\n"+
		"refuses it at once and ends streams opened with it within seconds.", stderr)
	db := userStoreFlags(fs)
	name := fs.String("name", "", "the account")
	id := fs.Int64("id", 0, "the token's id")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	switch {
	case *name == "":
		fmt.Fprintln(stderr, "liftwatch user token revoke: --name is required")
		return 2
	case *id <= 0:
		fmt.Fprintln(stderr, "liftwatch user token revoke: --id is required: the token's id from liftwatch user token list")
		return 2
	}
	svc, u, closeDB, code := openAccount(ctx, "token revoke", db, *name, stderr)
	if code != 0 {
		return code
	}
	defer closeDB()
	err := svc.RevokeToken(ctx, identity.System("cli"), u.ID, *id, "")
	if errors.Is(err, identity.ErrNotFound) {
		fmt.Fprintf(stderr, "liftwatch user token revoke: --id: user %q has no token %d\n", u.Name, *id)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch user token revoke: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "token %d of %q revoked\n", *id, u.Name)
	return 0
}
