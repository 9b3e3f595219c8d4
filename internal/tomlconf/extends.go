package tomlconf

import (
	"fmt"
	"strings"
)

// ExtendsKey is the key by which a document names the preset it builds on.
const ExtendsKey = "extends"

// maxExtendsDepth bounds chains of presets extending presets.
const maxExtendsDepth = 8

// Presets are the built-in documents of one file kind, found by name.
type Presets struct {
	// Find returns a preset's file name for errors and its text.
	Find func(name string) (file string, data []byte, ok bool)
	// Names lists every preset, for the error about an unknown one.
	Names func() []string
}

// Chain returns the preset called name and every preset it extends in turn, the deepest
// base first, so that each document overlays those before it. at locates the extends key
// that named it (File and Line) for errors: an unknown preset, a cycle, a chain deeper
// than 8 or an extends value that is not a string. The extends keys stay in the
// documents' Values.
func (p Presets) Chain(name string, at Error) ([]*Doc, List) {
	var chain []*Doc
	seen := []string{}
	for {
		atErr := func(format string, args ...any) List {
			return List{{File: at.File, Line: at.Line, Field: ExtendsKey, Msg: fmt.Sprintf(format, args...)}}
		}
		file, data, ok := p.Find(name)
		if !ok {
			return nil, atErr("unknown preset %q (presets: %s)", name, strings.Join(p.Names(), ", "))
		}
		for _, s := range seen {
			if s == name {
				return nil, atErr("preset %q extends itself (chain %s)", name, strings.Join(append(seen, name), " -> "))
			}
		}
		if len(seen) >= maxExtendsDepth {
			return nil, atErr("extends chain longer than %d", maxExtendsDepth)
		}
		seen = append(seen, name)
		doc, err := Decode(file, data)
		if err != nil {
			return nil, List{err}
		}
		chain = append(chain, doc)
		next, ok := doc.Values[ExtendsKey]
		if !ok {
			break
		}
		at = Error{File: file, Line: doc.Lines.Of(ExtendsKey)}
		if name, ok = next.(string); !ok {
			return nil, List{doc.Errorf(ExtendsKey, "want a string naming a preset, got %s", Describe(next))}
		}
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}
