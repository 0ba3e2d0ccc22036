// Package oncall says who is on duty, and when: per contractor (the duty
// technician and a supervisor), per estate (the property manager) and the
// subdistrict duty officer, in Asia/Shanghai time windows, and the
// escalation chain of each tier (tier 1: the contractor's duty technician
// and the estate's manager; tier 2 adds the supervisor; tier 3 adds the
// subdistrict). Rosters are data: a YAML file checked by `liftwatch config
// check`, and edited in the web app by admins and managers within their
// scope.
package oncall

// Roles a person can hold on a roster.
const (
	RoleTechnician  = "technician"  // the contractor's duty technician
	RoleSupervisor  = "supervisor"  // the contractor's supervisor
	RoleManager     = "manager"     // the estate's property manager
	RoleSubdistrict = "subdistrict" // the subdistrict's duty officer
)

// Contact is one way to reach a person, tried in the order given.
type Contact struct {
	// Channel names a configured paging channel (sms, voice, email, a
	// WeCom or DingTalk robot, webhook, or the demo gateway).
	Channel string `json:"channel" yaml:"channel"`
	// To is the address on that channel (a mobile number, an email
	// address; empty for a group robot).
	To string `json:"to,omitempty" yaml:"to"`
}

// Person is someone who can be paged.
type Person struct {
	// ID is stable across roster edits (the roster entry's key).
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
	Role string `json:"role" yaml:"role"`
	// User is the person's liftwatch account, if any: acknowledging from a
	// page's link acts as this account (or as Name when there is none).
	User string `json:"user,omitempty" yaml:"user"`
	// Phone is the duty phone shown to others (the alert's annotations,
	// the rescue card).
	Phone    string    `json:"phone,omitempty" yaml:"phone"`
	Lang     string    `json:"lang,omitempty" yaml:"lang"` // zh (default) or en: the language of the pages sent
	Contacts []Contact `json:"contacts" yaml:"contacts"`
	// Contractor is the company a technician or supervisor works for, and
	// Estate the estate a manager manages: optional in the file (the duty
	// entries say it), they decide who may edit the person in the web app
	// before any duty entry names them. A duty entry of the person must
	// agree with them.
	Contractor string `json:"contractor,omitempty" yaml:"contractor"`
	Estate     string `json:"estate,omitempty" yaml:"estate"`
	// Source is where the entry came from: "file" (--oncall.file, replaced
	// at every start), "web" (the web app or the API), "demo".
	Source string `json:"source,omitempty" yaml:"-"`
}
