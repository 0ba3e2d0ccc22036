// Package checklist is the routine-maintenance checklist of TSG T5002-2017
// annex A for traction lifts, as data: 76 items in four cumulative levels
// (31 half-monthly; quarterly adds 13 → 44; semi-annual adds 15 → 59;
// annual adds 17 → 76). The labels are the project's own, in Chinese and
// English. An item marked Test is tested, not only inspected: its record
// must carry a measured value or a photo.
package checklist

// Level is a maintenance level; each includes every item of the levels
// below it.
type Level int

// The four levels of TSG T5002, in cumulative order.
const (
	HalfMonthly Level = 1 // 半月
	Quarterly   Level = 2 // 季度
	SemiAnnual  Level = 3 // 半年
	Annual      Level = 4 // 年度
)

// Levels lists the levels in ascending order.
var Levels = [...]Level{HalfMonthly, Quarterly, SemiAnnual, Annual}

// String is the level's name as stored and exported.
func (l Level) String() string {
	switch l {
	case HalfMonthly:
		return "half_monthly"
	case Quarterly:
		return "quarterly"
	case SemiAnnual:
		return "semi_annual"
	case Annual:
		return "annual"
	}
	return "unknown"
}

// ParseLevel is the inverse of String.
func ParseLevel(s string) (Level, bool) {
	for _, l := range Levels {
		if l.String() == s {
			return l, true
		}
	}
	return 0, false
}

// Item is one checklist item.
type Item struct {
	Code  string // stable code: level letter and number, e.g. "H01", "A17"
	Level Level  // the level that introduces the item
	ZH    string // Chinese label
	EN    string // English label
	Test  bool   // a test: the record needs a measured value or a photo
}

// items is annex A in level order; codes are H (half-monthly), Q, S, A.
var items = []Item{
	{"H01", HalfMonthly, "机房、滑轮间环境", "Machine room environment", false},
	{"H02", HalfMonthly, "手动紧急操作装置", "Manual emergency operation device", false},
	{"H03", HalfMonthly, "驱动主机运行", "Drive machine running", false},
	{"H04", HalfMonthly, "制动器各销轴部位", "Brake moving parts", false},
	{"H05", HalfMonthly, "制动器间隙", "Brake clearance", true},
	{"H06", HalfMonthly, "制动器制动能力自监测", "Brake self-monitoring", true},
	{"H07", HalfMonthly, "编码器", "Encoder", false},
	{"H08", HalfMonthly, "限速器各销轴部位", "Governor moving parts", false},
	{"H09", HalfMonthly, "层门和轿门旁路装置", "Door bypass device", true},
	{"H10", HalfMonthly, "紧急电动运行", "Emergency electrical operation", true},
	{"H11", HalfMonthly, "轿顶", "Car top environment", false},
	{"H12", HalfMonthly, "轿顶检修开关、停止装置", "Car-top inspection and stop switches", true},
	{"H13", HalfMonthly, "导靴上油杯", "Guide shoe oil cups", false},
	{"H14", HalfMonthly, "对重块及其压板", "Counterweight blocks", false},
	{"H15", HalfMonthly, "井道照明", "Shaft lighting", false},
	{"H16", HalfMonthly, "轿厢照明、风扇、应急照明", "Car lighting, fan and emergency light", false},
	{"H17", HalfMonthly, "轿厢检修开关、停止装置", "Car inspection and stop switches", true},
	{"H18", HalfMonthly, "轿内报警装置、对讲系统", "Car alarm device and intercom", true},
	{"H19", HalfMonthly, "轿内显示、指令按钮、IC卡系统", "Car display, buttons and card reader", false},
	{"H20", HalfMonthly, "轿门防撞击保护装置（光幕）", "Car door protective device (light curtain)", true},
	{"H21", HalfMonthly, "轿门门锁电气触点", "Car door lock contacts", false},
	{"H22", HalfMonthly, "轿门运行", "Car door operation", false},
	{"H23", HalfMonthly, "轿厢平层准确度", "Levelling accuracy", true},
	{"H24", HalfMonthly, "层站召唤、层楼显示", "Landing call buttons and indicators", false},
	{"H25", HalfMonthly, "层门地坎", "Landing sills", false},
	{"H26", HalfMonthly, "层门自动关门装置", "Landing door self-closing", true},
	{"H27", HalfMonthly, "层门门锁自动复位", "Landing door lock auto-reset", true},
	{"H28", HalfMonthly, "层门门锁电气触点", "Landing door lock contacts", false},
	{"H29", HalfMonthly, "层门锁紧元件啮合长度（≥7 mm）", "Locking element engagement (≥ 7 mm)", true},
	{"H30", HalfMonthly, "底坑环境", "Pit environment", false},
	{"H31", HalfMonthly, "底坑停止装置", "Pit stop switch", true},

	{"Q01", Quarterly, "减速机润滑油", "Gearbox oil level", false},
	{"Q02", Quarterly, "制动衬磨损", "Brake lining wear", true},
	{"Q03", Quarterly, "编码器固定", "Encoder fixing", false},
	{"Q04", Quarterly, "选层器动静触点", "Floor-selector contacts", false},
	{"Q05", Quarterly, "曳引轮槽、悬挂装置", "Traction sheave grooves and rope suspension", false},
	{"Q06", Quarterly, "限速器轮槽、限速器钢丝绳", "Governor sheave and rope", false},
	{"Q07", Quarterly, "靴衬、滚轮", "Guide shoes or rollers", false},
	{"Q08", Quarterly, "验证轿门关闭的电气安全装置", "Car door closed-check device", true},
	{"Q09", Quarterly, "层门、轿门系统中传动钢丝绳、链条、传动带", "Door drive belts, chains and ropes", false},
	{"Q10", Quarterly, "层门门导靴", "Landing door guide shoes", false},
	{"Q11", Quarterly, "消防开关", "Fire service switch", true},
	{"Q12", Quarterly, "耗能缓冲器", "Oil buffer", false},
	{"Q13", Quarterly, "限速器张紧轮装置和电气安全装置", "Governor tension pulley switch", true},

	{"S01", SemiAnnual, "电动机与减速机联轴器", "Motor–gearbox coupling", false},
	{"S02", SemiAnnual, "驱动轮、导向轮轴承部", "Drive and deflector bearings", false},
	{"S03", SemiAnnual, "曳引轮槽", "Sheave groove wear", true},
	{"S04", SemiAnnual, "制动器动作状态监测装置", "Brake state monitor", true},
	{"S05", SemiAnnual, "控制柜内各接线端子", "Controller terminals", false},
	{"S06", SemiAnnual, "控制柜各仪表", "Controller meters", false},
	{"S07", SemiAnnual, "井道、对重、轿顶各反绳轮", "Shaft, counterweight and car pulleys", false},
	{"S08", SemiAnnual, "悬挂装置、补偿绳", "Suspension and compensation ropes", false},
	{"S09", SemiAnnual, "绳头组合", "Rope terminations", false},
	{"S10", SemiAnnual, "限速器钢丝绳", "Governor rope", false},
	{"S11", SemiAnnual, "层门、轿门门扇间隙", "Door panel gaps", true},
	{"S12", SemiAnnual, "轿门开门限制装置", "Car door opening restrictor", true},
	{"S13", SemiAnnual, "对重缓冲距离", "Counterweight buffer clearance", true},
	{"S14", SemiAnnual, "补偿链（绳）与轿厢、对重接合处", "Compensation attachment", false},
	{"S15", SemiAnnual, "上下极限开关", "Final limit switches", true},

	{"A01", Annual, "减速机润滑油（更换）", "Gearbox oil change", false},
	{"A02", Annual, "控制柜接触器、继电器触点", "Contactor and relay contacts", false},
	{"A03", Annual, "制动器铁芯（柱塞）", "Brake plunger", false},
	{"A04", Annual, "制动器制动能力（125%载荷试验）", "Brake capacity (125% load test where required)", true},
	{"A05", Annual, "导电回路绝缘性能", "Insulation resistance", true},
	{"A06", Annual, "限速器安全钳联动试验", "Governor and safety gear linkage test", true},
	{"A07", Annual, "上行超速保护装置动作试验", "Ascending-car overspeed protection test", true},
	{"A08", Annual, "轿厢意外移动保护装置动作试验", "Unintended-movement protection test", true},
	{"A09", Annual, "轿顶、轿厢架、轿门及其附件安装螺栓", "Car fixings", false},
	{"A10", Annual, "轿厢和对重的导轨支架", "Guide rail brackets", false},
	{"A11", Annual, "轿厢和对重的导轨", "Guide rails", false},
	{"A12", Annual, "随行电缆", "Travelling cable", false},
	{"A13", Annual, "层门装置和地坎", "Landing doors and sills", false},
	{"A14", Annual, "轿厢称重装置", "Load weighing device", true},
	{"A15", Annual, "安全钳钳座", "Safety gear seat", false},
	{"A16", Annual, "轿底各安装螺栓", "Car floor bolts", false},
	{"A17", Annual, "缓冲器", "Buffers", false},
}

var byCode = func() map[string]*Item {
	m := make(map[string]*Item, len(items))
	for i := range items {
		m[items[i].Code] = &items[i]
	}
	return m
}()

// All returns the 76 items in level order. The slice is shared: do not
// modify it.
func All() []Item { return items }

// For returns the items a visit at level l covers: its own and every lower
// level's, in order. The slice is shared: do not modify it.
func For(l Level) []Item {
	n := 0
	for n < len(items) && items[n].Level <= l {
		n++
	}
	return items[:n]
}

// Lookup returns the item with code.
func Lookup(code string) (Item, bool) {
	if it, ok := byCode[code]; ok {
		return *it, true
	}
	return Item{}, false
}
