package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/liftwatch/liftwatch/internal/testrig"
)

// TestWebOnCallManagerAddsDuty: on a 360-px phone, in Chinese, a manager
// opens 值班表, adds a night duty entry (Saturday and Sunday 20:00 to the
// next day's 08:00) for a manager of their estate, and sees it in the list;
// the API has it, the page is no wider than the phone, and its main part
// has no English.
func TestWebOnCallManagerAddsDuty(t *testing.T) {
	requireChromium(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(cfg, []byte(`channels:
  sms: {type: aliyun_sms, access_key_id: LTAI, access_key_secret: s, sign_name: 电梯卫士, template_code: SMS_1}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startWebServe(t, testrig.StartMosquitto(t, testrig.MosquittoOptions{}), filepath.Join(dir, "data"), cfg)
	// The person, added by the admin (the test's API calls are an admin's).
	s.apiJSON(t, "PUT", "/api/v1/oncall/people/zhou", `{"name":"周经理","role":"manager","estate":"yixian","phone":"13800000011",`+
		`"contacts":[{"channel":"sms","to":"13800000011"}]}`, 201, nil)
	ctx := browser(t, 360, 740)
	setLang(t, ctx, s.base, "zh")
	s.login(t, ctx, "mgr1", "/oncall")
	do(t, ctx, "the nav has 值班表", chromedp.WaitVisible(chromedp.CSS(`#nav a[href="/oncall"][aria-current="page"]`)))
	if got := text(t, ctx, `#nav a[href="/oncall"]`); got != "值班表" {
		t.Errorf("nav entry %q", got)
	}
	do(t, ctx, "the form", chromedp.WaitVisible(chromedp.CSS("#duty-form")), chromedp.WaitReady(chromedp.CSS(`#d-person option[value="zhou"]`)))
	do(t, ctx, "fill in and save",
		chromedp.SetValue(chromedp.CSS("#d-person"), "zhou"),
		chromedp.SetValue(chromedp.CSS("#d-target"), "estate:yixian"),
		chromedp.Click(chromedp.CSS("#d-days label:nth-child(6)")),
		chromedp.Click(chromedp.CSS("#d-days label:nth-child(7)")),
		chromedp.SetValue(chromedp.CSS("#d-from"), "20:00"),
		chromedp.SetValue(chromedp.CSS("#d-to"), "08:00"),
		chromedp.Click(chromedp.CSS("#d-save")),
		chromedp.WaitVisible(chromedp.CSS(`#duty li[data-person="zhou"]`)))
	got := text(t, ctx, `#duty li[data-person="zhou"]`)
	for _, want := range []string{"周经理", "小区", "六、日 20:00–次日 08:00"} {
		if !strings.Contains(got, want) {
			t.Errorf("the new entry reads %q: %q missing", got, want)
		}
	}
	if got := text(t, ctx, `#people li[data-person="zhou"]`); !strings.Contains(got, "短信 13800000011") {
		t.Errorf("the person reads %q: the contact's channel in words missing", got)
	}
	if msg := text(t, ctx, "#msg"); !strings.Contains(msg, "已保存") {
		t.Errorf("message %q", msg)
	}
	var roster struct {
		Duty []struct {
			Person, Estate, From, To string
			Days                     []string
			Source                   string
		}
	}
	s.apiJSON(t, "GET", "/api/v1/oncall", "", 200, &roster)
	if len(roster.Duty) != 1 || roster.Duty[0].Person != "zhou" || roster.Duty[0].Estate != "yixian" || roster.Duty[0].From != "20:00" ||
		roster.Duty[0].To != "08:00" || strings.Join(roster.Duty[0].Days, ",") != "sat,sun" || roster.Duty[0].Source != "web" {
		b, _ := json.Marshal(roster)
		t.Errorf("the API's roster: %s", b)
	}
	if width := run1(t, ctx, "width", chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); width > 360 {
		t.Errorf("the on-call page is %d px wide on a 360-px phone", width)
	}
	// The form is ready for the next entry: no day ticked.
	if n := run1(t, ctx, "ticked", chromedp.Evaluate[int64](`document.querySelectorAll('#d-days input:checked').length`)); n != 0 {
		t.Errorf("after saving, %d days are still ticked", n)
	}
	latinJS := `([document.querySelector('main').innerText, ...[...document.querySelectorAll('main input:not([type=checkbox])')].map((e) => e.value + ' ' + (e.placeholder || ''))]
		.join(' ').match(/[A-Za-z]{2,}/g) || []).filter((w) => w !== 'zhou').join(' ')`
	if latin := run1(t, ctx, "latin", chromedp.Evaluate[string](latinJS)); latin != "" {
		t.Errorf("English in the Chinese page: %q", latin)
	}
	screenshot(t, ctx, "phone-oncall-zh")
}
