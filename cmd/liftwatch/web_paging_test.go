package main

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebPhoneInbox: in the demo, the duty technician (demo-contractor)
// opens the phone inbox on a 360 px phone, in Chinese, sees the page of
// the entrapment on JW-0042, follows its link to the acknowledge page and
// presses the button: the alert is acknowledged as demo-contractor. The
// manager's board then shows, on the rescue card, who was paged and that
// the page was acknowledged.
func TestWebPhoneInbox(t *testing.T) {
	requireChromium(t)
	base, out := startPagingDemo(t)
	pw := func(name string) string {
		m := regexp.MustCompile(`(?m)^  ` + name + ` +(\S+) `).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no password for %s:\n%s", name, out.String())
		}
		return m[1]
	}
	phone := browser(t, 360, 740)
	setLang(t, phone, base, "zh")
	do(t, phone, "log in demo-contractor",
		chromedp.Navigate(base+"/login?next="+url.QueryEscape("/inbox")),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "demo-contractor"),
		chromedp.SendKeys(chromedp.CSS("#password"), pw("demo-contractor")),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#inbox")))
	// The inbox polls every 5 s: the incident's page arrives.
	do(t, phone, "the entrapment's page in the inbox", chromedp.WaitVisible(chromedp.CSS("#inbox li.page a.ack-link")))
	msg := text(t, phone, "#inbox li.page .text")
	if !strings.Contains(msg, "困人") || !strings.Contains(msg, "JW-0042") || !strings.Contains(msg, "/k/") {
		t.Fatalf("inbox message %q", msg)
	}
	if st := text(t, phone, "#inbox li.page .state"); st != "已送达" {
		t.Fatalf("page state %q, want 已送达", st)
	}
	screenshot(t, phone, "phone-inbox-zh")
	do(t, phone, "open the link", chromedp.Click(chromedp.CSS("#inbox li.page a.ack-link")), chromedp.WaitVisible(chromedp.CSS("#ack")))
	if b := text(t, phone, "#ack"); b != "我已收到，马上处理" {
		t.Fatalf("button %q", b)
	}
	if l := text(t, phone, "#lift"); l != "JW-0042" {
		t.Fatalf("lift %q", l)
	}
	screenshot(t, phone, "phone-ack-link-zh")
	do(t, phone, "acknowledge", chromedp.Click(chromedp.CSS("#ack")), chromedp.WaitVisible(chromedp.CSS("#done")))
	screenshot(t, phone, "phone-ack-done-zh")

	// The manager's board: the rescue card says who was paged, and that
	// the technician acknowledged.
	board := browser(t, 1280, 900)
	setLang(t, board, base, "zh")
	do(t, board, "log in demo-manager",
		chromedp.Navigate(base+"/login?next=/"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "demo-manager"),
		chromedp.SendKeys(chromedp.CSS("#password"), pw("demo-manager")),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav a")))
	card := `.card[data-lift="JW-0042"][data-type="entrapment"]`
	do(t, board, "the card's pages", chromedp.WaitVisible(chromedp.CSS(card+` .pages li.page[data-state="acknowledged"]`)))
	line := text(t, board, card+" .pages li.page")
	for _, want := range []string{"张师傅", "值班技师", "138****0001", "已确认", "demo-contractor"} {
		if !strings.Contains(line, want) {
			t.Fatalf("the card's page line %q does not say %q", line, want)
		}
	}
	if st := text(t, board, card+" .badge.state"); !strings.Contains(st, "确认") {
		t.Fatalf("card state %q", st)
	}
	screenshot(t, board, "board-pages-zh")
}
