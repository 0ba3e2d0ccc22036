// Package suggest finds the name someone probably meant: the "did you mean"
// of liftwatch's error messages for misspelt flags, variables, YAML keys
// and fault codes.
package suggest

// Closest is the name in known nearest to s by edit distance, if it is
// within maxEdits; "" if none is.
func Closest(s string, known []string, maxEdits int) string {
	best, bestD := "", maxEdits+1
	for _, k := range known {
		if d := distance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
