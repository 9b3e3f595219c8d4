package recipe

import (
	"cmp"
	"slices"
	"strings"

	"github.com/msdx/msdx/internal/fielderr"
)

// Error is one problem in a recipe. File is the recipe file, the embedded preset file
// ("presets/msdnet.toml") or, for a bad override, the override itself
// ("--set optimizer.lr=x"); Line is 0 when no line applies (a missing key, an override).
type Error = fielderr.Error

// ErrorList is every problem found in one recipe, in file order.
type ErrorList = fielderr.List

// sortErrors orders the problems by file, then line, then field; overrides come last, in
// the order setOrder gives their File.
func sortErrors(l ErrorList, setOrder map[string]int) {
	slices.SortStableFunc(l, func(a, b *Error) int {
		ao, bo := strings.HasPrefix(a.File, "--set "), strings.HasPrefix(b.File, "--set ")
		if ao != bo {
			if ao {
				return 1
			}
			return -1
		}
		if ao {
			return cmp.Compare(setOrder[a.File], setOrder[b.File])
		}
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Field, b.Field))
	})
}
