package fund

import (
	"fmt"
	"math/bits"
	"sort"
)

// Split divides amountFen (≥ 0) among households in proportion to their
// shares, to the fen, by the largest-remainder rule: each household first
// gets the floor of its exact part; the fen left over (fewer than the number
// of households) go one each to the households with the largest remainders,
// ties broken by higher floor first, then by unit, then by id. The result is
// in the order of households and sums to amountFen exactly; a household with
// share 0 gets 0.
func Split(amountFen int64, households []Household) ([]int64, error) {
	if amountFen < 0 {
		return nil, fmt.Errorf("%w: split of a negative amount %d", ErrInvalid, amountFen)
	}
	var total uint64
	for _, h := range households {
		if h.Share < 0 || h.Share > MaxShare {
			return nil, fmt.Errorf("%w: household %s: share %d out of range", ErrInvalid, h.Unit, h.Share)
		}
		total += uint64(h.Share)
	}
	if total == 0 {
		return nil, ErrNoShares
	}
	out := make([]int64, len(households))
	rem := make([]uint64, len(households))
	var given int64
	for i, h := range households {
		hi, lo := bits.Mul64(uint64(amountFen), uint64(h.Share))
		q, r := bits.Div64(hi, lo, total) // hi < total: amount*share/total ≤ amount
		out[i], rem[i] = int64(q), r
		given += int64(q)
	}
	order := make([]int, len(households))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := order[a], order[b]
		if rem[x] != rem[y] {
			return rem[x] > rem[y]
		}
		hx, hy := &households[x], &households[y]
		if hx.Floor != hy.Floor {
			return hx.Floor > hy.Floor
		}
		if hx.Unit != hy.Unit {
			return hx.Unit < hy.Unit
		}
		return hx.ID < hy.ID
	})
	for k := int64(0); k < amountFen-given; k++ {
		out[order[k]]++
	}
	return out, nil
}
