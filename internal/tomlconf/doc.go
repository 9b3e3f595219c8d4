// Package tomlconf is msdx's configuration layer: what the loaders of spec, recipe and
// search-space files share, written once. It parses a TOML document and locates every key
// (Decode, KeyLines), follows a chain of presets named by extends (Presets.Chain), splits
// and reports --set overrides (SplitSet), suggests the known key nearest to a misspelt one
// (Suggest), collects located problems (Error, List) and writes canonical TOML (Writer,
// String, Float).
//
// Each file kind keeps its own schema and its own error list type (spec.ErrorList,
// recipe.ErrorList), so that errors.As tells a spec's problems from a recipe's; both are
// lists of the one located Error defined here.
package tomlconf
