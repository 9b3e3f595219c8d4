package recipe

import "github.com/msdx/msdx/internal/tomlconf"

// Error is one problem in a recipe. File is the recipe file, the embedded preset file
// ("presets/msdnet.toml") or "--set" for a bad override, whose Line is then the override's
// position on the command line; Line is 0 when no line applies (a missing key).
type Error = tomlconf.Error

// ErrorList is every problem found in one recipe, in file order, overrides last. It is a
// type of its own, so that errors.As tells a recipe's problems from a spec's.
type ErrorList []*Error

// Error prints one problem per line.
func (l ErrorList) Error() string { return tomlconf.List(l).Error() }

// Unwrap gives the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error { return tomlconf.List(l).Unwrap() }
