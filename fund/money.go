package fund

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseYuan reads an amount of yuan with at most two decimals ("1234",
// "1234.5", "-0.07") exactly into fen, without floating point. Thousands
// separators, signs other than a leading '-', and more than two decimals are
// refused.
func ParseYuan(s string) (int64, error) {
	orig := s
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 13 || !digits(whole) || (hasDot && (len(frac) < 1 || len(frac) > 2 || !digits(frac))) {
		return 0, fmt.Errorf("amount %q is not yuan with at most 2 decimals", orig)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	y, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", orig, err)
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	fen := y*100 + f
	if neg {
		fen = -fen
	}
	return fen, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatYuan writes fen as yuan with two decimals ("-12.05").
func FormatYuan(fen int64) string {
	sign := ""
	u := uint64(fen)
	if fen < 0 {
		sign, u = "-", uint64(-fen)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
