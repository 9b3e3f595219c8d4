package spec

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
)

// presetFS holds the built-in presets. examples/ in the repository holds the same files
// (a test keeps them identical).
//
//go:embed presets/*.toml
var presetFS embed.FS

// PresetInfo names and describes one built-in preset.
type PresetInfo struct {
	Name        string
	Description string
}

// Presets lists the built-in presets, sorted by name.
func Presets() []PresetInfo {
	var out []PresetInfo
	for _, name := range PresetNames() {
		s, err := Preset(name)
		if err != nil {
			// The presets are part of the program; a broken one is a programming error
			// that the package tests catch.
			panic(fmt.Sprintf("spec: preset %s: %v", name, err))
		}
		out = append(out, PresetInfo{Name: name, Description: s.Description})
	}
	return out
}

// PresetNames lists the names of the built-in presets, sorted.
func PresetNames() []string {
	entries, err := presetFS.ReadDir("presets")
	if err != nil {
		panic(err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Preset returns the resolved built-in preset with the given name.
func Preset(name string) (*Spec, error) {
	data, ok := presetData(name)
	if !ok {
		return nil, ErrorList{{File: name, Msg: fmt.Sprintf("unknown preset (presets: %s)", strings.Join(PresetNames(), ", "))}}
	}
	return resolve(presetFile(name), data, nil)
}

// PresetSource returns the TOML text of a built-in preset, as written (with its comments).
func PresetSource(name string) ([]byte, bool) {
	return presetData(name)
}

func presetData(name string) ([]byte, bool) {
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, false
	}
	data, err := presetFS.ReadFile(path.Join("presets", name+".toml"))
	return data, err == nil
}

// presetFile is the File that errors and positions use for a preset.
func presetFile(name string) string {
	return "<preset " + name + ">"
}
