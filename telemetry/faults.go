package telemetry

// Severity ranks how dangerous an event is. Critical means people may be in
// danger.
type Severity uint8

// Severities, lowest first.
const (
	SeverityWarning Severity = iota
	SeverityMinor
	SeverityMajor
	SeverityCritical
)

var severityNames = enum{"warning", "minor", "major", "critical"}

func (s Severity) String() string { return name(severityNames, uint8(s)) }

// ParseSeverity parses a severity name.
func ParseSeverity(s string) (Severity, bool) {
	v, ok := severityNames.lookup([]byte(s))
	return Severity(v), ok
}

// FaultInfo describes one catalogue fault code.
type FaultInfo struct {
	Code     string
	GB       int  // GB/T 24476-2017 message code, 0 where none exists
	GBEvent  bool // the GB code is an event code rather than a fault code
	Severity Severity
	Rescue   bool // passengers need rescuing
	NameZH   string
	NameEN   string
}

// Catalogue is the v1 fault catalogue in contract order.
var Catalogue = [...]FaultInfo{
	{Code: "entrapment", Severity: SeverityCritical, Rescue: true, NameZH: "困人 (平层/非平层关人)", NameEN: "Passenger entrapment"},
	{Code: "safety_circuit", GB: 1, Severity: SeverityMajor, NameZH: "安全回路断路", NameEN: "Safety circuit open"},
	{Code: "door_close_failure", GB: 2, Severity: SeverityMajor, NameZH: "关门故障", NameEN: "Door close failure"},
	{Code: "door_open_failure", GB: 3, Severity: SeverityMajor, NameZH: "开门故障", NameEN: "Door open failure"},
	{Code: "stopped_outside_door_zone", GB: 4, Severity: SeverityMajor, NameZH: "门区外停梯", NameEN: "Stopped outside door zone"},
	{Code: "unintended_movement", GB: 5, Severity: SeverityCritical, NameZH: "轿厢意外移动 (开门走车)", NameEN: "Unintended car movement"},
	{Code: "runtime_limiter", GB: 6, Severity: SeverityMajor, NameZH: "电动机运转时间限制器动作", NameEN: "Motor runtime limiter tripped"},
	{Code: "floor_position_lost", GB: 7, Severity: SeverityMajor, NameZH: "楼层位置丢失", NameEN: "Floor position lost"},
	{Code: "no_restart", GB: 8, Severity: SeverityMajor, NameZH: "防止电梯再运行的故障", NameEN: "Fault preventing restart"},
	{Code: "power_loss", GB: 41, GBEvent: true, Severity: SeverityMajor, NameZH: "主电源断电", NameEN: "Main power loss"},
	{Code: "overspeed", Severity: SeverityCritical, NameZH: "超速", NameEN: "Overspeed"},
	{Code: "overtravel_top", Severity: SeverityCritical, NameZH: "冲顶", NameEN: "Overtravel at top"},
	{Code: "overtravel_bottom", Severity: SeverityCritical, NameZH: "蹲底", NameEN: "Overtravel at bottom"},
	{Code: "door_open_while_moving", Severity: SeverityCritical, NameZH: "运行中开门", NameEN: "Door open while moving"},
	{Code: "door_lock", Severity: SeverityMajor, NameZH: "门锁回路断路", NameEN: "Door lock circuit open"},
	{Code: "door_obstructed", Severity: SeverityMinor, NameZH: "关门受阻", NameEN: "Door closing obstructed"},
}

// Fault codes used by name in the code base.
const (
	FaultEntrapment             = "entrapment"
	FaultStoppedOutsideDoorZone = "stopped_outside_door_zone"
	FaultDoorOpenFailure        = "door_open_failure"
	FaultPowerLoss              = "power_loss"
)

// LookupFault returns the catalogue entry for code.
func LookupFault(code string) (FaultInfo, bool) {
	for _, f := range Catalogue {
		if f.Code == code {
			return f, true
		}
	}
	return FaultInfo{}, false
}

// FaultSeverity is the default severity of code; codes outside the catalogue
// are major.
func FaultSeverity(code string) Severity {
	if f, ok := LookupFault(code); ok {
		return f.Severity
	}
	return SeverityMajor
}

// canonicalFaultCode returns the catalogue's own string for b, so that decoding
// a known code does not allocate.
func canonicalFaultCode(b []byte) (string, bool) {
	for i := range Catalogue {
		if string(b) == Catalogue[i].Code {
			return Catalogue[i].Code, true
		}
	}
	return "", false
}

func validUnknownCode(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
