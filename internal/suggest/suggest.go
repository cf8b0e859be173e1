// Package suggest finds the known word closest to a misspelt one, for
// "did you mean" hints in error messages (configuration keys, manifest
// keys).
package suggest

import "fmt"

// Closest returns the word of known closest to key by edit distance, and
// whether it is close enough to suggest (at most 2 edits, or a third of
// key's length for longer keys).
func Closest(key string, known []string) (string, bool) {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := Distance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best, best != "" && bestD <= max(2, len(key)/3)
}

// Hint is Closest worded for the end of an error message: `; did you mean
// "word"?`, or "" when no word is close.
func Hint(key string, known []string) string {
	if best, ok := Closest(key, known); ok {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// Distance is the Levenshtein distance of a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
