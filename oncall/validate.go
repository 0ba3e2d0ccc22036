package oncall

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/liftwatch/liftwatch/internal/suggest"
)

// Problem is one thing wrong with a person or a duty entry, naming its
// field as the file and the API spell it ("contacts[1].to").
type Problem struct {
	Field string
	Msg   string
}

func (p Problem) Error() string { return p.Field + ": " + p.Msg }

// Roles lists the roster roles.
func Roles() []string { return []string{RoleTechnician, RoleSupervisor, RoleManager, RoleSubdistrict} }

// Channels are the paging channels a roster's contacts may name: each
// configured channel's name and the kind of address it takes (AddrPhone,
// AddrEmail, or AddrNone for a group robot or the demo's gateway).
type Channels map[string]string

// Address kinds of a channel.
const (
	AddrPhone = "phone" // SMS and voice: a mobile number
	AddrEmail = "email"
	AddrNone  = "" // a group robot (its webhook is the address), the demo's gateway
)

// Names lists the channel names, sorted.
func (c Channels) Names() []string {
	out := make([]string, 0, len(c))
	for n := range c {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// DefaultChannels are channels named after their types (sms, voice,
// email, wecom, dingtalk): for tests, and for checking a roster file when
// no paging configuration is at hand.
func DefaultChannels() Channels {
	return Channels{"sms": AddrPhone, "voice": AddrPhone, "email": AddrEmail, "wecom": AddrNone, "dingtalk": AddrNone}
}

var (
	idRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	mobileRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	e164RE   = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// ValidPhone says whether s is an 11-digit mainland China mobile number
// (13800000001) or an international number in E.164 form (+8613800000001).
func ValidPhone(s string) bool { return mobileRE.MatchString(s) || e164RE.MatchString(s) }

const phoneHint = "want an 11-digit mobile number (13800000001) or +E.164 (+8613800000001)"

// CheckPerson says what is wrong with p; channels are the paging channels
// configured (a contact on another one could never be sent). With nil
// channels the names are not checked, and the address is judged by the
// channel's name (sms…, voice…: a mobile number; email…: an address).
func CheckPerson(p Person, channels Channels) []Problem {
	var out []Problem
	bad := func(field, format string, args ...any) {
		out = append(out, Problem{field, fmt.Sprintf(format, args...)})
	}
	if !idRE.MatchString(p.ID) {
		bad("id", "%q: want 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit", p.ID)
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 128 {
		bad("name", "required, at most 128 bytes")
	} else if why := misleading(p.Name); why != "" {
		bad("name", "%s", why)
	}
	switch p.Role {
	case RoleTechnician, RoleSupervisor, RoleManager, RoleSubdistrict:
	default:
		msg := fmt.Sprintf("%q: want one of %s", p.Role, strings.Join(Roles(), ", "))
		if s := suggest.Closest(p.Role, Roles(), 3); s != "" && p.Role != "" {
			msg += " (did you mean " + s + "?)"
		}
		bad("role", "%s", msg)
	}
	if p.Phone != "" && !ValidPhone(p.Phone) {
		bad("phone", "%q: %s", p.Phone, phoneHint)
	}
	if p.Lang != "" && p.Lang != "zh" && p.Lang != "en" {
		bad("lang", "%q: want zh or en", p.Lang)
	}
	if len(p.User) > 128 {
		bad("user", "at most 128 bytes")
	}
	if p.Contractor != "" && p.Role != RoleTechnician && p.Role != RoleSupervisor {
		bad("contractor", "only a technician or a supervisor works for a contractor")
	}
	if p.Estate != "" && p.Role != RoleManager {
		bad("estate", "only a manager manages an estate")
	}
	if len(p.Contacts) == 0 {
		bad("contacts", "at least one contact is needed, or %s could never be paged", p.ID)
	}
	for i, c := range p.Contacts {
		f := fmt.Sprintf("contacts[%d]", i)
		kind, known := channels[c.Channel]
		if channels != nil && !known {
			names := channels.Names()
			msg := fmt.Sprintf("%q is not a configured channel (%s)", c.Channel, strings.Join(names, ", "))
			if len(names) == 0 {
				msg = fmt.Sprintf("%q is not a configured channel: none is (channels: in --alerts.config)", c.Channel)
			}
			if s := suggest.Closest(c.Channel, names, 2); s != "" {
				msg += "; did you mean " + s + "?"
			}
			bad(f+".channel", "%s", msg)
			continue
		}
		if channels == nil {
			kind = channelKind(c.Channel)
		}
		switch {
		case kind == AddrPhone && !ValidPhone(c.To):
			bad(f+".to", "%q: %s", c.To, phoneHint)
		case kind == AddrEmail:
			if a, err := mail.ParseAddress(c.To); err != nil || a.Address != c.To {
				bad(f+".to", "%q: want an email address", c.To)
			}
		}
	}
	return out
}

// channelKind guesses a channel's address kind from its name, when no
// configuration says it.
func channelKind(ch string) string {
	switch {
	case strings.HasPrefix(ch, "sms"), strings.HasPrefix(ch, "voice"):
		return AddrPhone
	case strings.HasPrefix(ch, "email"), strings.HasPrefix(ch, "smtp"):
		return AddrEmail
	}
	return AddrNone
}

// misleading says why a name would mislead whoever reads it on a page or a
// phone: a control character, or a bidirectional control that reorders
// what is shown; "" if it reads as it is.
func misleading(s string) string {
	for _, r := range s {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			return fmt.Sprintf("contains the control character U+%04X", r)
		case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("contains the bidirectional control U+%04X, which reorders the text shown", r)
		case r == utf8.RuneError:
			return "is not valid UTF-8"
		}
	}
	return ""
}
