package tomlconf

import (
	"fmt"
	"strings"
)

// Suggest returns ` (did you mean "K"?)` naming the known key nearest to a misspelt key, or
// "" when none is near: within edit distance 3, and at most half the length of the known
// key's last part, so that short keys are not matched to anything. Failing that, a known key
// whose last part equals key's ("count" written at top level for "blocks.count"). Ties go to
// the earlier of known.
func Suggest(key string, known []string) string {
	best, bestDist := "", 4
	for _, k := range known {
		if d := EditDistance(key, k); d < bestDist && 2*d <= len(leaf(k)) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		for _, k := range known {
			if leaf(k) == leaf(key) && k != key {
				best = k
				break
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// leaf is the last part of a dotted path.
func leaf(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}
