package spec

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Expr is an integer written in a declaration: a number, or a simple expression of named
// widths such as "width", "2*head.channels" or "(width+1)//2". It has + - * / // and
// parentheses; "/" must divide exactly and "//" rounds down. Each use checks that the value
// is a whole number in range (widths at least 1).
type Expr string

// exprMaxLen bounds the text of an expression, so that evaluating one stays trivial.
const exprMaxLen = 200

// exprParser is a recursive-descent parser and evaluator over rationals. With vars nil it
// only checks the syntax and collects the variable names.
type exprParser struct {
	src  string
	pos  int
	vars map[string]int
	used []string
}

// Vars checks e's syntax and returns the variables it reads.
func (e Expr) Vars() ([]string, error) {
	p := &exprParser{src: string(e)}
	if _, err := p.parse(); err != nil {
		return nil, err
	}
	return p.used, nil
}

// Eval evaluates e with the given variables and returns its value, which must be a whole
// number at least lo.
func (e Expr) Eval(vars map[string]int, lo int) (int, error) {
	p := &exprParser{src: string(e), vars: vars}
	r, err := p.parse()
	if err != nil {
		return 0, err
	}
	if !r.IsInt() {
		return 0, fmt.Errorf("%s is %s, not a whole number", e.describe(vars), r.RatString())
	}
	n := r.Num()
	if !n.IsInt64() || n.Int64() > maxInt || n.Int64() < -maxInt {
		return 0, fmt.Errorf("%s is %s, out of range", e.describe(vars), n)
	}
	v := int(n.Int64())
	if v < lo {
		return 0, fmt.Errorf("%s is %d; want at least %d", e.describe(vars), v, lo)
	}
	return v, nil
}

// describe shows e with the values of its variables, e.g. `"width/3" (width = 16)`.
func (e Expr) describe(vars map[string]int) string {
	if _, err := strconv.Atoi(string(e)); err == nil {
		return string(e)
	}
	used, _ := e.Vars()
	var parts []string
	seen := map[string]bool{}
	for _, v := range used {
		if !seen[v] {
			seen[v] = true
			parts = append(parts, fmt.Sprintf("%s = %d", v, vars[v]))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%q", string(e))
	}
	return fmt.Sprintf("%q (%s)", string(e), strings.Join(parts, ", "))
}

func (p *exprParser) parse() (*big.Rat, error) {
	if len(p.src) > exprMaxLen {
		return nil, fmt.Errorf("expression longer than %d characters", exprMaxLen)
	}
	if strings.TrimSpace(p.src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	r, err := p.sum(0)
	if err != nil {
		return nil, err
	}
	p.blanks()
	if p.pos < len(p.src) {
		return nil, fmt.Errorf("unexpected %q in expression %q", p.src[p.pos:], p.src)
	}
	return r, nil
}

func (p *exprParser) blanks() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// depth bounds nesting, so that a hostile expression cannot exhaust the stack.
const exprMaxDepth = 20

func (p *exprParser) sum(depth int) (*big.Rat, error) {
	r, err := p.product(depth)
	for err == nil {
		p.blanks()
		if p.pos >= len(p.src) || (p.src[p.pos] != '+' && p.src[p.pos] != '-') {
			return r, nil
		}
		op := p.src[p.pos]
		p.pos++
		var t *big.Rat
		if t, err = p.product(depth); err == nil {
			if op == '+' {
				r = new(big.Rat).Add(r, t)
			} else {
				r = new(big.Rat).Sub(r, t)
			}
		}
	}
	return nil, err
}

func (p *exprParser) product(depth int) (*big.Rat, error) {
	r, err := p.factor(depth)
	for err == nil {
		p.blanks()
		if p.pos >= len(p.src) || (p.src[p.pos] != '*' && p.src[p.pos] != '/') {
			return r, nil
		}
		op := string(p.src[p.pos])
		p.pos++
		if op == "/" && p.pos < len(p.src) && p.src[p.pos] == '/' {
			op = "//"
			p.pos++
		}
		var t *big.Rat
		if t, err = p.factor(depth); err != nil {
			break
		}
		switch op {
		case "*":
			r = new(big.Rat).Mul(r, t)
		default:
			if p.vars != nil && t.Sign() == 0 {
				return nil, fmt.Errorf("division by zero in expression %q", p.src)
			}
			if p.vars == nil {
				continue
			}
			r = new(big.Rat).Quo(r, t)
			if op == "//" {
				q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive denominator
				r = new(big.Rat).SetInt(q)
			}
		}
	}
	return nil, err
}

func (p *exprParser) factor(depth int) (*big.Rat, error) {
	if depth > exprMaxDepth {
		return nil, fmt.Errorf("expression %q nests deeper than %d", p.src, exprMaxDepth)
	}
	p.blanks()
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("expression %q ends early", p.src)
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		p.pos++
		r, err := p.sum(depth + 1)
		if err != nil {
			return nil, err
		}
		p.blanks()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, fmt.Errorf("missing ) in expression %q", p.src)
		}
		p.pos++
		return r, nil
	case c == '-':
		p.pos++
		r, err := p.factor(depth + 1)
		if err != nil {
			return nil, err
		}
		return new(big.Rat).Neg(r), nil
	case c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.ParseInt(p.src[start:p.pos], 10, 64)
		if err != nil || n > maxInt {
			return nil, fmt.Errorf("number %s in expression %q is out of range", p.src[start:p.pos], p.src)
		}
		return new(big.Rat).SetInt64(n), nil
	case c >= 'a' && c <= 'z' || c == '_':
		start := p.pos
		for p.pos < len(p.src) && (p.src[p.pos] >= 'a' && p.src[p.pos] <= 'z' || p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '_' || p.src[p.pos] == '.') {
			p.pos++
		}
		name := p.src[start:p.pos]
		p.used = append(p.used, name)
		if p.vars == nil {
			return new(big.Rat), nil
		}
		v, ok := p.vars[name]
		if !ok {
			return nil, fmt.Errorf("unknown name %q in expression %q", name, p.src)
		}
		return new(big.Rat).SetInt64(int64(v)), nil
	}
	return nil, fmt.Errorf("unexpected %q in expression %q", p.src[p.pos:], p.src)
}
