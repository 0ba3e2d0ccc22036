package registry

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// JiangwanSeed is the seed of the shipped Jiangwan fleet.
const JiangwanSeed = 20261124

// JiangwanAsOf is the day the shipped fleet's inspection certificates are
// dated from (CertExpiry): a few expire within a month of it, one has
// lapsed, the rest run up to a year.
var JiangwanAsOf = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// JiangwanSize is the number of retrofitted lifts in Jiangwan Town
// subdistrict (built, in use or under review).
const JiangwanSize = 297

type estate struct {
	slug, name, road string
	lifts            int
}

// The estates of the demo fleet. Yixian, Guyuan and the Jinian residents'
// committee were whole-estate programmes; the other names and all the lift
// counts, addresses and companies are illustrative.
var jiangwanEstates = []estate{
	{"yixian", "逸仙小区", "逸仙路", 62},
	{"guyuan", "沽源小区", "沽源路", 48},
	{"jinian", "纪念居委", "纪念路", 44},
	{"xinshibei", "新市北小区", "新市北路", 31},
	{"fengzhen", "丰镇小区", "丰镇路", 28},
	{"yutian", "玉田新村", "玉田路", 27},
	{"wenshui", "汶水小区", "汶水东路", 22},
	{"changzhong", "场中小区", "场中路", 20},
	{"jiangwanxincun", "江湾新村", "江湾镇路", 15},
}

var managers = []string{"上海虹房物业有限公司", "江湾物业管理有限公司", "平安保险+服务 (保险托管)", "业主自管 (指定业主代表)"}
var contractors = []string{"上海三菱电梯维保站", "迅达 (中国) 虹口服务中心", "奥的斯电梯上海分公司", "上海富士电梯工程有限公司"}

// Generate makes a reproducible fleet shaped like Jiangwan Town's: 297 lifts
// across its estates. The same seed always gives the same fleet.
func Generate(seed uint64) []Lift {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var lifts []Lift
	n := 0
	epoch := time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC)
	for ei, e := range jiangwanEstates {
		mgr := managers[ei%len(managers)]
		for i := 0; i < e.lifts; i++ {
			n++
			building := 1 + i/3
			unit := 1 + i%3
			landings, half := 6, []int(nil)
			switch x := r.IntN(100); {
			case x < 20: // stops at the half-landings between storeys (半层入户)
				landings, half = 7, []int{2, 3, 4, 5, 6}
			case x < 40:
				landings = 7
			}
			speed := 1.0
			if r.IntN(5) == 0 {
				speed = 0.63
			}
			install := epoch.AddDate(0, 0, r.IntN(7*365))
			lifts = append(lifts, Lift{
				ID:              fmt.Sprintf("JW-%04d", n),
				RegCode:         fmt.Sprintf("3110310109%04d%06d", install.Year(), n),
				Estate:          e.slug,
				EstateName:      e.name,
				Building:        fmt.Sprintf("%d号", building),
				Unit:            fmt.Sprintf("%d单元", unit),
				Address:         fmt.Sprintf("上海市虹口区%s%d弄%d号", e.road, 100+ei*37, building),
				Landings:        landings,
				HalfLandings:    half,
				RatedSpeed:      speed,
				InstallDate:     install.Format(time.DateOnly),
				PropertyManager: mgr,
				Contractor:      contractors[(ei+i/10)%len(contractors)],
			})
		}
	}
	certify(lifts, seed, JiangwanAsOf)
	return lifts
}

// certify dates the lifts' inspection certificates as of asOf. Lifts are
// inspected once a year (TSG T7001), so a certificate expires on the
// anniversary of the acceptance inspection (the install date) next after
// asOf. Of the lifts whose anniversary falls within 31 days, about one in
// four has not been re-inspected yet (its reminder is due); the others were
// inspected early, on their application, in the last three weeks (a year from
// then). The first lift installed more than two years before asOf has
// lapsed 9 days ago. A separate random stream keeps the other fields of
// the fleet as they were before certificates were added.
func certify(lifts []Lift, seed uint64, asOf time.Time) {
	r := rand.New(rand.NewPCG(seed^0x5eed, seed))
	lapsed := false
	for i := range lifts {
		inst, err := time.Parse(time.DateOnly, lifts[i].InstallDate)
		if err != nil {
			continue
		}
		exp := time.Date(asOf.Year(), inst.Month(), inst.Day(), 0, 0, 0, 0, time.UTC)
		for !exp.After(asOf) {
			exp = exp.AddDate(1, 0, 0)
		}
		if exp.Before(asOf.AddDate(0, 0, 32)) && r.IntN(4) != 0 {
			exp = asOf.AddDate(1, 0, -r.IntN(21))
		}
		if !lapsed && inst.Before(asOf.AddDate(-2, 0, 0)) {
			exp, lapsed = asOf.AddDate(0, 0, -9), true
		}
		lifts[i].CertExpiry = exp.Format(time.DateOnly)
	}
}

// GenerateN makes a fleet of n lifts by repeating the Jiangwan estates with
// new IDs (LW-000001 ...), for load tests of 10,000 lifts and more.
func GenerateN(seed uint64, n int) []Lift {
	base := Generate(seed)
	out := make([]Lift, n)
	for i := range out {
		l := base[i%len(base)]
		l.ID = fmt.Sprintf("LW-%06d", i+1)
		l.RegCode = fmt.Sprintf("3110310109%04d%06d", 2020+i%6, i+1)
		out[i] = l
	}
	return out
}
