package recipe

import "strings"

// keyLines maps the dotted path of every key in a TOML document to the line (1-based) where
// it is first defined. The TOML decoder does not expose key positions, so this is a light
// scan that understands table headers, dotted and quoted keys, comments, and values that
// span lines (arrays, inline tables, multi-line strings). Keys inside inline tables are not
// recorded; callers fall back to the enclosing key's line.
func keyLines(src string) map[string]int {
	lines := make(map[string]int)
	record := func(path string, n int) {
		if _, ok := lines[path]; !ok {
			lines[path] = n
		}
	}
	table := ""
	inString := "" // closing delimiter of an open multi-line string
	depth := 0     // open brackets of a value continuing from an earlier line
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		if inString != "" {
			if j := strings.Index(line, inString); j >= 0 {
				inString = ""
				depth += bracketDelta(line[j+3:], &inString)
			}
			continue
		}
		if depth > 0 {
			depth += bracketDelta(line, &inString)
			continue
		}
		s := strings.TrimSpace(line)
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			header := strings.TrimSpace(stripComment(s))
			header = strings.TrimPrefix(strings.TrimSuffix(header, "]"), "[")
			header = strings.TrimPrefix(strings.TrimSuffix(header, "]"), "[") // [[array]]
			table = strings.Join(keyParts(header), ".")
			record(table, n)
			continue
		}
		eq := indexUnquoted(s, '=')
		if eq < 0 {
			continue
		}
		// A dotted key defines its parent tables too.
		path := table
		for _, part := range keyParts(s[:eq]) {
			path = joinPath(path, part)
			record(path, n)
		}
		depth = bracketDelta(s[eq+1:], &inString)
	}
	return lines
}

// keyParts splits a TOML key as written (`a . "b c"`) into its parts (`a`, `b c`).
func keyParts(k string) []string {
	var parts []string
	for {
		j := indexUnquoted(k, '.')
		part := k
		if j >= 0 {
			part = k[:j]
		}
		part = strings.TrimSpace(part)
		if len(part) >= 2 && (part[0] == '"' || part[0] == '\'') && part[len(part)-1] == part[0] {
			part = part[1 : len(part)-1]
		}
		parts = append(parts, part)
		if j < 0 {
			return parts
		}
		k = k[j+1:]
	}
}

// indexUnquoted returns the index of the first c outside quotes in s, or -1.
func indexUnquoted(s string, c byte) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0:
			if s[i] == '\\' && quote == '"' {
				i++
			} else if s[i] == quote {
				quote = 0
			}
		case s[i] == '"' || s[i] == '\'':
			quote = s[i]
		case s[i] == c:
			return i
		}
	}
	return -1
}

func stripComment(s string) string {
	if i := indexUnquoted(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// bracketDelta returns the number of brackets and braces opened minus closed in the value
// text s, ignoring strings and comments. If s opens a multi-line string that it does not
// close, *inString is set to the closing delimiter.
func bracketDelta(s string, inString *string) int {
	d := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '#':
			return d
		case '[', '{':
			d++
		case ']', '}':
			d--
		case '"', '\'':
			if strings.HasPrefix(s[i:], strings.Repeat(string(c), 3)) {
				delim := strings.Repeat(string(c), 3)
				j := strings.Index(s[i+3:], delim)
				if j < 0 {
					*inString = delim
					return d
				}
				i += 3 + j + 2
				continue
			}
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && c == '"' {
					i++
				}
			}
		}
	}
	return d
}
