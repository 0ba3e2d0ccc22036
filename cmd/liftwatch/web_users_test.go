package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/liftwatch/liftwatch/internal/itest"
)

// TestWebUserAdministration (issue 18, findings 5 and 7), in headless
// Chromium against the real binary: on a 360-px phone an admin creates a
// manager on the /users page and reads the generated password (shown
// once); the manager signs in with it in another browser and opens the
// alert board, whose stream goes live; the admin disables the account,
// and the manager's board is sent to the login page by its stream's end
// (no reload by the test), while /api/v1/me answers 401. The manager's
// own /users page is read-only; the admin unlocks the account and resets
// its password (the new one shown once), the audit log on the page lists
// the changes, and the page reads in English after the switch.
func TestWebUserAdministration(t *testing.T) {
	s := startWeb(t)
	admin := browser(t, 360, 740)
	s.login(t, admin, "test-admin", "/users")
	do(t, admin, "create a manager",
		chromedp.WaitVisible(chromedp.CSS(`#create input[name="estates"]`)),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "mgr-new"),
		chromedp.SendKeys(chromedp.CSS(`#create input[name="estates"]`), "yixian"),
		chromedp.Click(chromedp.CSS("#create-submit")),
		chromedp.WaitVisible(chromedp.CSS("#created code[data-password]")),
		chromedp.WaitVisible(chromedp.CSS(`li[data-user="mgr-new"]`)))
	pw := attr(t, admin, "#created code[data-password]", "data-password")
	if len(pw) < 10 {
		t.Fatalf("generated password %q", pw)
	}
	if width := run1(t, admin, "width", chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); width > 360 {
		t.Errorf("/users is %d px wide on a 360-px phone", width)
	}
	screenshot(t, admin, "phone-users-zh")

	mgr := browser(t, 1280, 800)
	w := watchTab(t, mgr)
	do(t, mgr, "the new manager signs in and opens the board",
		chromedp.Navigate(s.base+"/login?next=/"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "mgr-new"),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav a")),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-i18n="common.live"]`)))
	if !strings.Contains(text(t, mgr, "#nav"), "账户管理") {
		t.Errorf("the manager's navigation lacks the accounts page: %q", text(t, mgr, "#nav"))
	}

	do(t, admin, "disable the manager",
		chromedp.Click(chromedp.CSS(`li[data-user="mgr-new"] button[data-act="toggle"]`)),
		chromedp.WaitVisible(chromedp.CSS(`li[data-user="mgr-new"][data-disabled="true"]`)))
	do(t, mgr, "the manager's board is sent to the login page", chromedp.WaitVisible(chromedp.CSS("#password")))
	loc := run1(t, mgr, "location", chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Path != "/login" {
		t.Fatalf("the disabled manager is at %s, want /login", loc)
	}
	if st := w.statuses("/api/v1/me"); len(st) < 2 || st[len(st)-1] != 401 {
		t.Errorf("/api/v1/me answered %v to the disabled manager's page, want 401 last", st)
	}

	// Enabled again, the manager signs in and sees their accounts page
	// read-only: no buttons, no audit log.
	do(t, admin, "enable the manager",
		chromedp.Click(chromedp.CSS(`li[data-user="mgr-new"] button[data-act="toggle"]`)),
		chromedp.WaitVisible(chromedp.CSS(`li[data-user="mgr-new"][data-disabled="false"]`)))
	do(t, mgr, "the manager reads the accounts page",
		chromedp.SendKeys(chromedp.CSS("#name"), "mgr-new"),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav a")),
		chromedp.Navigate(s.base+"/users"),
		chromedp.WaitVisible(chromedp.CSS(`li[data-user="mgr-new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#readonly")))
	if n := run1(t, mgr, "buttons", chromedp.Evaluate[int64](`document.querySelectorAll('#users button').length`)); n != 0 {
		t.Errorf("the manager's accounts page offers %d buttons", n)
	}
	if hidden := run1(t, mgr, "audit", chromedp.Evaluate[bool](`document.getElementById('audit-sec').hidden`)); !hidden {
		t.Error("the manager's page shows the audit log")
	}
	do(t, admin, "the audit log", chromedp.Navigate(s.base+"/users"), chromedp.WaitVisible(chromedp.CSS("#audit li")))
	audit := text(t, admin, "#audit")
	for _, want := range []string{"user.create", "user.disable", "user.enable", "session.revoke_all"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log on the page lacks %s", want)
		}
	}
	// Unlock and reset: the reset's new password is shown once, in the card.
	do(t, admin, "unlock and reset",
		chromedp.Click(chromedp.CSS(`li[data-user="mgr-new"] button[data-act="unlock"]`)),
		chromedp.WaitVisible(chromedp.CSS(`li[data-user="mgr-new"] .out .msg-ok`)),
		chromedp.Click(chromedp.CSS(`li[data-user="mgr-new"] button[data-act="reset"]`)),
		chromedp.WaitVisible(chromedp.CSS(`li[data-user="mgr-new"] code[data-password]`)))
	if np := attr(t, admin, `li[data-user="mgr-new"] code[data-password]`, "data-password"); len(np) < 10 || np == pw {
		t.Errorf("reset password %q (was %q)", np, pw)
	}
	// In English, the whole page and the new account's role choice.
	do(t, admin, "English", chromedp.Click(chromedp.CSS("#lang")))
	itest.WaitUntil(t, 10*time.Second, "the page in English", func() bool { return text(t, admin, "h1") == "Accounts" })
	if h1, opt := text(t, admin, "h1"), run1(t, admin, "option", chromedp.Evaluate[string](`document.querySelector('#new-role option[value="manager"]').textContent`)); h1 != "Accounts" || opt != "Manager" {
		t.Errorf("in English: title %q, manager option %q", h1, opt)
	}
	w.noDialogs(t)
}
