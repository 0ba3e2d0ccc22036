package paging

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTexts: a page says what happened, where and when, in the person's
// language, with the link, short enough for SMS (two segments at most, 70
// characters each in UCS-2) even for a long address.
func TestTexts(t *testing.T) {
	link := "http://127.0.0.1:8080/k/abcdefghijklmnopqrstuvwxyz"
	p := map[string]string{"lift": "JW-0042", "type": "entrapment", "at": "10:31",
		"address": "上海市虹口区逸仙路100弄14号3单元"}
	_, zh := render("zh", p, link)
	if zh != "【加装电梯监控】困人！JW-0042 逸仙路100弄14号3单元，10:31 报警。确认："+link {
		t.Fatalf("zh %q", zh)
	}
	subj, en := render("en", p, link)
	if !strings.HasPrefix(en, "[Liftwatch] Trapped passenger! JW-0042 ") || !strings.HasSuffix(en, "Acknowledge: "+link) || !strings.Contains(subj, "JW-0042") {
		t.Fatalf("en %q / %q", subj, en)
	}
	p["type"], p["address"] = "fault.overspeed", "上海市虹口区"+strings.Repeat("很长的地址", 20)
	_, zh = render("zh", p, link)
	if !strings.Contains(zh, "严重故障：超速") || utf8.RuneCountInString(zh) > 140 {
		t.Fatalf("critical fault, long address: %d characters: %q", utf8.RuneCountInString(zh), zh)
	}
	for in, want := range map[string]string{"13800000001": "138****0001", "+8613800000001": "+86138****0001", "zhang@example.com": "z***@example.com",
		"": "", "1234": "1**4"} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	if lang("en-GB") != "en" || lang("") != "zh" || lang("zh-CN") != "zh" {
		t.Fatal("lang")
	}
}
