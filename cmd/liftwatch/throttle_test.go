package main

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/testrig"
)

// fromAddress is a cookie-keeping client whose connections leave from the
// loopback address local (127.0.0.2 …), so the server sees another device.
func fromAddress(base, local string) *httpUser {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	tr := &http.Transport{DialContext: d.DialContext}
	return &httpUser{c: &http.Client{Jar: jar, Transport: tr}, base: base}
}

// TestLoginThrottleFromTwoAddresses (issue 18, finding 6): wrong passwords
// from 127.0.0.2 slow that device, never the duty manager signing in from
// 127.0.0.1, and twenty failures from one address do not shut out the
// admin behind it; an admin unlocks an account through the API.
func TestLoginThrottleFromTwoAddresses(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	const mpw, apw = "wang's long password", "root's long password"
	s := runService(t, t.TempDir(), broker.URL, func(a *app.App) {
		ctx := context.Background()
		sys := identity.System("test")
		for _, nu := range []identity.NewUser{
			{Name: "wang", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"yixian"}}, Password: mpw},
			{Name: "root", Role: identity.RoleAdmin, Password: apw},
		} {
			if _, err := a.Identity().CreateUser(ctx, sys, nu, ""); err != nil {
				t.Fatal(err)
			}
		}
	})
	manager := fromAddress(s.base, "127.0.0.1")
	manager.login(t, "wang", mpw) // the manager's own device, signed in before
	admin := fromAddress(s.base, "127.0.0.2")
	admin.login(t, "root", apw) // the admin's desk is behind the attacker's address
	attacker := fromAddress(s.base, "127.0.0.2")

	// Five wrong passwords for the manager from 127.0.0.2; then that device
	// waits, even with the right password.
	for i := range 5 {
		if r, body := attacker.do(t, "POST", "/api/v1/session", `{"name":"wang","password":"guess `+strconv.Itoa(i)+`"}`, nil); r.StatusCode != 401 {
			t.Fatalf("guess %d: %d %s", i, r.StatusCode, body)
		}
	}
	r, body := attacker.do(t, "POST", "/api/v1/session", `{"name":"wang","password":"`+mpw+`"}`, nil)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" || errorCode(body) != "rate_limited" {
		t.Fatalf("the attacking device after five failures: %d Retry-After %q %s", r.StatusCode, r.Header.Get("Retry-After"), body)
	}
	// Five more from 127.0.0.3: ten against the account, so a device it
	// never signed in from (127.0.0.4) waits too …
	third := fromAddress(s.base, "127.0.0.3")
	for i := range 5 {
		if r, body := third.do(t, "POST", "/api/v1/session", `{"name":"wang","password":"guess `+strconv.Itoa(i)+`"}`, nil); r.StatusCode != 401 {
			t.Fatalf("guess %d from 127.0.0.3: %d %s", i, r.StatusCode, body)
		}
	}
	if r, body := fromAddress(s.base, "127.0.0.4").do(t, "POST", "/api/v1/session", `{"name":"wang","password":"`+mpw+`"}`, nil); r.StatusCode != 429 {
		t.Fatalf("a new device after ten failures on the account: %d %s", r.StatusCode, body)
	}
	// … but the duty manager, from 127.0.0.1, signs in at once.
	fromAddress(s.base, "127.0.0.1").login(t, "wang", mpw)

	// Spraying: fifteen more failures from 127.0.0.2 over many names, twenty
	// from that address in all.
	for i := range 15 {
		if r, body := attacker.do(t, "POST", "/api/v1/session", `{"name":"user`+strconv.Itoa(i)+`","password":"x"}`, nil); r.StatusCode != 401 {
			t.Fatalf("spray %d: %d %s", i, r.StatusCode, body)
		}
	}
	// A stranger on that address now waits; the admin, known there, does not.
	if r, body := attacker.do(t, "POST", "/api/v1/session", `{"name":"newcomer","password":"x"}`, nil); r.StatusCode != 429 {
		t.Fatalf("a stranger on the spraying address: %d %s", r.StatusCode, body)
	}
	fromAddress(s.base, "127.0.0.2").login(t, "root", apw)
	fromAddress(s.base, "127.0.0.1").login(t, "root", apw)

	// Unlock: a manager may not; the admin may, and the manager then signs
	// in from a new device at once.
	if r, body := manager.do(t, "POST", "/api/v1/users/wang/unlock", "", map[string]string{"X-CSRF-Token": manager.csrf}); r.StatusCode != 403 {
		t.Fatalf("a manager unlocking: %d %s", r.StatusCode, body)
	}
	if r, body := admin.do(t, "POST", "/api/v1/users/wang/unlock", "", map[string]string{"X-CSRF-Token": admin.csrf}); r.StatusCode != 204 {
		t.Fatalf("the admin unlocking: %d %s", r.StatusCode, body)
	}
	fromAddress(s.base, "127.0.0.4").login(t, "wang", mpw)
	_, body = admin.do(t, "GET", "/api/v1/audit?action=user.unlock", "", nil)
	if want := `"action": "user.unlock"`; !strings.Contains(body, want) {
		t.Errorf("audit log lacks the unlock: %s", body)
	}
}
