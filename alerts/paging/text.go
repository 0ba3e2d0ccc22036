package paging

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// shanghai is where the lifts and the people paged are.
var shanghai = time.FixedZone("CST", 8*3600)

// kindText says what happened, in lang (zh unless "en").
func kindText(typ, lang string) string {
	en := lang == "en"
	if typ == alerts.TypeEntrapment {
		if en {
			return "Trapped passenger"
		}
		return "困人"
	}
	if code, ok := strings.CutPrefix(typ, alerts.TypeFaultPrefix); ok {
		if f, ok := telemetry.LookupFault(code); ok {
			if en {
				return "Critical fault: " + f.NameEN
			}
			return "严重故障：" + f.NameZH
		}
	}
	if en {
		return "Alert"
	}
	return "告警"
}

// place is the lift's address as people find it: street address,
// building and unit ("逸仙路 100 弄 12号2单元").
func place(l *registry.Lift) string {
	if l == nil {
		return ""
	}
	if l.Building != "" && strings.HasSuffix(l.Address, l.Building) {
		return l.Address + l.Unit
	}
	return strings.TrimSpace(l.Address + " " + l.Building + l.Unit)
}

// street is the address without its city and district (上海市虹口区), for
// the short text.
func street(addr string) string {
	if _, rest, ok := strings.Cut(addr, "区"); ok && rest != "" {
		return rest
	}
	return addr
}

// params are a page's template parameters: what SMS and voice templates
// take (lift, address, kind, at, link), and what renders its text again.
func params(a *alerts.Alert, l *registry.Lift) map[string]string {
	p := map[string]string{"alert": fmt.Sprint(a.ID), "lift": a.Lift, "type": a.Type,
		"at": a.OpenedAt.In(shanghai).Format("15:04")}
	if l != nil {
		p["address"] = place(l)
		p["estate"] = l.EstateName
	}
	return p
}

// maxAddress bounds the address in a text message, so the page fits in
// one or two SMS segments (70 Chinese characters each).
const maxAddress = 22

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// render is a page's subject and text in lang, with link.
func render(lang string, p map[string]string, link string) (subject, text string) {
	kind := kindText(p["type"], lang)
	addr := shorten(street(p["address"]), maxAddress)
	if lang == "en" {
		subject = fmt.Sprintf("[Liftwatch] %s: %s", kind, p["lift"])
		text = fmt.Sprintf("[Liftwatch] %s! %s %s, alarm %s. Acknowledge: %s", kind, p["lift"], addr, p["at"], link)
		return subject, text
	}
	subject = fmt.Sprintf("【加装电梯监控】%s：%s", kind, p["lift"])
	text = fmt.Sprintf("【加装电梯监控】%s！%s %s，%s 报警。确认：%s", kind, p["lift"], addr, p["at"], link)
	return subject, text
}

// lang is the language of a person's pages: en if they asked for it, else
// zh.
func lang(l string) string {
	if strings.HasPrefix(strings.ToLower(l), "en") {
		return "en"
	}
	return "zh"
}
