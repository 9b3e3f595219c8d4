package tomlconf

import (
	"fmt"
	"strings"
)

// Lines maps the dotted path of every key and table header of a TOML document ("blocks",
// "blocks.count") to the 1-based line where the path first appears. The tables of an array
// of tables are numbered from 1 ("param[2]", "stem.layers[2].kernel"), and every path is
// recorded without its numbers too ("stem.layers.kernel").
type Lines map[string]int

// KeyLines finds the line of every key and table header in a TOML document, since the TOML
// decoder does not expose key positions. Keys inside inline tables and arrays of tables are
// found too. The document has already been parsed successfully; on anything unexpected the
// scanner just moves on, so it never fails and always ends.
func KeyLines(data []byte) Lines {
	sc := lineScanner{src: data, line: 1, lines: Lines{}, expectKey: true}
	sc.run()
	return sc.lines
}

// Of returns the line of path, else of its nearest enclosing table or key, else 0: keys of
// a value that the scan does not reach share their parent's line.
func (l Lines) Of(path string) int {
	for {
		if n, ok := l[path]; ok {
			return n
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

type scanContext struct {
	bracket byte   // '[' for an array, '{' for an inline table
	prefix  string // the key path the array or inline table is the value of
	tables  int    // inline tables met so far in an array
}

type lineScanner struct {
	src       []byte
	pos, line int
	lines     Lines
	table     string // current [table] header path
	stack     []scanContext
	expectKey bool           // the next token is a key
	valueKey  string         // the key whose value is being read
	arrays    map[string]int // [[path]] headers met so far, per path
}

// record notes the line of path and of its prefixes. The tables of an array of tables are
// numbered from 1 ("layers[2].kernel"); the path is recorded without the numbers too.
func (sc *lineScanner) record(path string) {
	if plain := stripIndices(path); plain != path {
		sc.recordOne(plain)
	}
	sc.recordOne(path)
}

// stripIndices removes the "[N]" array indices from a path.
func stripIndices(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (sc *lineScanner) recordOne(path string) {
	// Record every prefix too, so that a dotted key "a.b = 1" locates table "a".
	for i := 0; i <= len(path); i++ {
		if i == len(path) || path[i] == '.' {
			if _, ok := sc.lines[path[:i]]; !ok {
				sc.lines[path[:i]] = sc.line
			}
		}
	}
}

func (sc *lineScanner) run() {
	for sc.pos < len(sc.src) {
		c := sc.src[sc.pos]
		switch {
		case c == '\n':
			sc.line++
			sc.pos++
			if len(sc.stack) == 0 {
				sc.expectKey = true
			}
		case c == ' ' || c == '\t' || c == '\r':
			sc.pos++
		case c == '#':
			for sc.pos < len(sc.src) && sc.src[sc.pos] != '\n' {
				sc.pos++
			}
		case sc.expectKey && len(sc.stack) == 0 && c == '[':
			sc.header()
		case sc.expectKey && c == '}' && len(sc.stack) > 0:
			// Empty inline table or trailing position; handled as a closing bracket.
			sc.expectKey = false
		case sc.expectKey:
			sc.key()
		case c == '"' || c == '\'':
			sc.skipString()
		case c == '[' || c == '{':
			prefix := sc.valueKey
			if n := len(sc.stack); n > 0 && sc.stack[n-1].bracket == '[' {
				top := &sc.stack[n-1]
				prefix = top.prefix
				if c == '{' {
					top.tables++
					prefix = fmt.Sprintf("%s[%d]", prefix, top.tables)
					sc.record(prefix)
				}
			}
			sc.stack = append(sc.stack, scanContext{bracket: c, prefix: prefix})
			sc.expectKey = c == '{'
			sc.pos++
		case c == ']' || c == '}':
			if n := len(sc.stack); n > 0 {
				sc.stack = sc.stack[:n-1]
			}
			sc.pos++
		case c == ',':
			if n := len(sc.stack); n > 0 && sc.stack[n-1].bracket == '{' {
				sc.expectKey = true
			}
			sc.pos++
		default:
			sc.pos++
		}
	}
}

// header reads "[a.b]" or "[[a.b]]".
func (sc *lineScanner) header() {
	sc.pos++
	array := sc.pos < len(sc.src) && sc.src[sc.pos] == '['
	if array {
		sc.pos++
	}
	path, parts := sc.keyPath()
	sc.table = path
	if parts > 0 {
		sc.record(path)
		if array {
			if sc.arrays == nil {
				sc.arrays = map[string]int{}
			}
			sc.arrays[path]++
			sc.table = fmt.Sprintf("%s[%d]", path, sc.arrays[path])
			sc.record(sc.table)
		}
	}
	for sc.pos < len(sc.src) && sc.src[sc.pos] != '\n' && sc.src[sc.pos] != '#' {
		sc.pos++
	}
	sc.expectKey = false
}

// key reads "a.b =" and records the full path.
func (sc *lineScanner) key() {
	start := sc.pos
	path, parts := sc.keyPath()
	sc.skipBlanks()
	if sc.pos < len(sc.src) && sc.src[sc.pos] == '=' {
		sc.pos++
	}
	if sc.pos == start {
		sc.pos++ // not a key at all; make progress
	}
	sc.expectKey = false
	if parts == 0 {
		return
	}
	prefix := sc.table
	if n := len(sc.stack); n > 0 {
		prefix = sc.stack[n-1].prefix
	}
	if prefix != "" {
		path = prefix + "." + path
	}
	sc.valueKey = path
	sc.record(path)
}

// keyPath reads a dotted key of bare and quoted parts and returns it with its number of
// parts (a quoted part may be empty).
func (sc *lineScanner) keyPath() (string, int) {
	var parts []string
	for {
		sc.skipBlanks()
		if sc.pos >= len(sc.src) {
			break
		}
		c := sc.src[sc.pos]
		var part string
		switch {
		case c == '"' || c == '\'':
			start := sc.pos + 1
			sc.skipString()
			end := sc.pos - 1
			if end < start {
				end = start
			}
			part = string(sc.src[start:end])
		case isBareKeyChar(c):
			start := sc.pos
			for sc.pos < len(sc.src) && isBareKeyChar(sc.src[sc.pos]) {
				sc.pos++
			}
			part = string(sc.src[start:sc.pos])
		default:
			return strings.Join(parts, "."), len(parts)
		}
		parts = append(parts, part)
		sc.skipBlanks()
		if sc.pos < len(sc.src) && sc.src[sc.pos] == '.' {
			sc.pos++
			continue
		}
		return strings.Join(parts, "."), len(parts)
	}
	return strings.Join(parts, "."), len(parts)
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (sc *lineScanner) skipBlanks() {
	for sc.pos < len(sc.src) && (sc.src[sc.pos] == ' ' || sc.src[sc.pos] == '\t') {
		sc.pos++
	}
}

// skipString moves past a basic, literal or multi-line string starting at sc.pos,
// counting the newlines inside it.
func (sc *lineScanner) skipString() {
	q := sc.src[sc.pos]
	triple := sc.pos+2 < len(sc.src) && sc.src[sc.pos+1] == q && sc.src[sc.pos+2] == q
	if triple {
		sc.pos += 3
		for sc.pos < len(sc.src) {
			c := sc.src[sc.pos]
			switch {
			case c == '\\' && q == '"':
				if sc.pos+1 < len(sc.src) && sc.src[sc.pos+1] == '\n' {
					sc.line++
				}
				sc.pos += 2
			case c == '\n':
				sc.line++
				sc.pos++
			case c == q && sc.pos+2 < len(sc.src) && sc.src[sc.pos+1] == q && sc.src[sc.pos+2] == q:
				sc.pos += 3
				// Up to two more quotes may belong to the string's content.
				for k := 0; k < 2 && sc.pos < len(sc.src) && sc.src[sc.pos] == q; k++ {
					sc.pos++
				}
				return
			default:
				sc.pos++
			}
		}
		return
	}
	sc.pos++
	for sc.pos < len(sc.src) {
		c := sc.src[sc.pos]
		switch {
		case c == '\\' && q == '"':
			sc.pos += 2
		case c == q:
			sc.pos++
			return
		case c == '\n':
			return // unterminated; the newline is counted by the caller
		default:
			sc.pos++
		}
	}
}
