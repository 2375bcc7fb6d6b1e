package email

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"text/template/parse"
)

// Marketer-written text (subjects, headings, bodies) is a small template
// language, not all of Go's text/template: every text is checked, before
// it ever runs, against what a template may do, whatever branch the data
// would take. What it allows:
//
//   - fields of the email's data, checked against their types ({{.First.Name}}),
//     and $ for the data inside a range;
//   - {{if}}, {{else}}, {{with}}, and comparisons and logic (eq, ne, lt,
//     le, gt, ge, and, or, not, len);
//   - {{range .Products}} (at most three products), not inside another range.
//
// Nothing else: no printf (a width of a billion), no range over a number
// or any other list, no variables, no {{define}} or {{template}}. Each text
// then renders in time proportional to its own length (at most 10,000
// characters), and its output is capped as it is written. These are the
// budgets; a text over one fails with an error, which is a 422 when a
// campaign is saved or previewed and a permanent step failure (never an
// endless retry) at send.
const (
	// MaxTextBytes is the most one marketer text may render to.
	MaxTextBytes = 32 << 10
	// MaxEmailBytes is the most a whole email's HTML may be.
	MaxEmailBytes = 256 << 10
)

// ErrTooLarge is a render over its output budget.
var ErrTooLarge = errors.New("renders too large")

// allowedFuncs are the functions a marketer text may call: all cheap.
var allowedFuncs = map[string]bool{
	"eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
	"and": true, "or": true, "not": true, "len": true,
}

// rangeable are the lists a text may range over, by field path: short
// ones only.
var rangeable = map[string]bool{".Products": true}

var dataType = reflect.TypeOf(Data{})

// guard checks a parsed marketer text against the language above.
func guard(root *parse.ListNode, templates int) error {
	if templates > 1 {
		return errors.New("{{define}} and {{block}} are not allowed")
	}
	g := guardian{}
	return g.list(root, dataType)
}

type guardian struct {
	inRange bool
}

func (g *guardian) list(l *parse.ListNode, dot reflect.Type) error {
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		if err := g.node(n, dot); err != nil {
			return err
		}
	}
	return nil
}

func (g *guardian) node(n parse.Node, dot reflect.Type) error {
	switch n := n.(type) {
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
		return nil
	case *parse.ActionNode:
		_, err := g.pipe(n.Pipe, dot)
		return err
	case *parse.IfNode:
		if _, err := g.pipe(n.Pipe, dot); err != nil {
			return err
		}
		if err := g.list(n.List, dot); err != nil {
			return err
		}
		return g.list(n.ElseList, dot)
	case *parse.WithNode:
		t, err := g.pipe(n.Pipe, dot)
		if err != nil {
			return err
		}
		if err := g.list(n.List, t); err != nil {
			return err
		}
		return g.list(n.ElseList, dot)
	case *parse.RangeNode:
		return g.rangeNode(n, dot)
	case *parse.TemplateNode:
		return fmt.Errorf("{{template %q}} is not allowed", n.Name)
	}
	return fmt.Errorf("%s is not allowed", n)
}

func (g *guardian) rangeNode(n *parse.RangeNode, dot reflect.Type) error {
	if g.inRange {
		return errors.New("a {{range}} inside a {{range}} is not allowed")
	}
	path := ""
	if len(n.Pipe.Decl) == 0 && len(n.Pipe.Cmds) == 1 && len(n.Pipe.Cmds[0].Args) == 1 && dot == dataType {
		if f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok {
			path = "." + strings.Join(f.Ident, ".")
		}
	}
	if !rangeable[path] {
		return fmt.Errorf("{{range %s}} is not allowed: only {{range .Products}}", n.Pipe)
	}
	list, err := g.pipe(n.Pipe, dot)
	if err != nil {
		return err
	}
	g.inRange = true
	defer func() { g.inRange = false }()
	if err := g.list(n.List, list.Elem()); err != nil {
		return err
	}
	return g.list(n.ElseList, dot)
}

// pipe checks a pipeline and returns the type it yields (nil when not
// known statically, as for a function's result).
func (g *guardian) pipe(p *parse.PipeNode, dot reflect.Type) (reflect.Type, error) {
	if len(p.Decl) > 0 || p.IsAssign {
		return nil, errors.New("variables are not allowed")
	}
	var t reflect.Type
	for i, c := range p.Cmds {
		var err error
		if t, err = g.command(c, dot, i > 0); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (g *guardian) command(c *parse.CommandNode, dot reflect.Type, piped bool) (reflect.Type, error) {
	first := c.Args[0]
	if id, ok := first.(*parse.IdentifierNode); ok {
		if !allowedFuncs[id.Ident] {
			return nil, fmt.Errorf("the function %q is not allowed (only %s)", id.Ident, "eq, ne, lt, le, gt, ge, and, or, not, len")
		}
		for _, a := range c.Args[1:] {
			if _, err := g.arg(a, dot); err != nil {
				return nil, err
			}
		}
		if id.Ident == "len" {
			return reflect.TypeOf(0), nil
		}
		return reflect.TypeOf(false), nil
	}
	if len(c.Args) > 1 || piped {
		return nil, fmt.Errorf("%s: only a function takes arguments", c)
	}
	return g.arg(first, dot)
}

// arg checks one operand and returns its type.
func (g *guardian) arg(n parse.Node, dot reflect.Type) (reflect.Type, error) {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot, nil
	case *parse.FieldNode:
		return fieldType(dot, n.Ident)
	case *parse.VariableNode:
		if n.Ident[0] != "$" {
			return nil, errors.New("variables are not allowed")
		}
		return fieldType(dataType, n.Ident[1:])
	case *parse.StringNode:
		return reflect.TypeOf(""), nil
	case *parse.NumberNode:
		return reflect.TypeOf(0.0), nil
	case *parse.BoolNode:
		return reflect.TypeOf(false), nil
	case *parse.NilNode:
		return nil, nil
	case *parse.PipeNode:
		return g.pipe(n, dot)
	}
	return nil, fmt.Errorf("%s is not allowed", n)
}

// fieldType follows a chain of field names from a type; an unknown
// field, or a method, is an error naming it.
func fieldType(t reflect.Type, idents []string) (reflect.Type, error) {
	path := ""
	for _, id := range idents {
		path += "." + id
		if t == nil {
			return nil, nil // a function's result: checked when it runs
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, fmt.Errorf("%s: %s has no fields", path, t)
		}
		f, ok := t.FieldByName(id)
		if !ok || !f.IsExported() {
			return nil, fmt.Errorf("%s: no such field", path)
		}
		t = f.Type
	}
	return t, nil
}

// cappedWriter refuses output past its budget.
type cappedWriter struct {
	b   strings.Builder
	max int
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, fmt.Errorf("%w: over %d KB", ErrTooLarge, w.max>>10)
	}
	return w.b.Write(p)
}

// NamesProducts reports whether a marketer text prints a recommended
// product ({{.First.Name}}, {{range .Products}}…{{end}}) where nothing
// guards it: with no product to show it would render with blanks ("Get
// for less"). Copy inside {{if .Products}}, {{with .First}} or a range's
// body is guarded (its {{else}} is not).
func NamesProducts(text string) bool {
	if !strings.Contains(text, "{{") {
		return false
	}
	trees, err := parse.Parse("t", text, "{{", "}}", builtinFuncs)
	if err != nil {
		return false // Check refuses it with its error
	}
	for _, tr := range trees {
		if unguarded(tr.Root) {
			return true
		}
	}
	return false
}

// unguarded says whether n uses a product outside a branch that only runs
// when there is one.
func unguarded(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if unguarded(c) {
				return true
			}
		}
	case *parse.ActionNode:
		return usesProducts(n.Pipe)
	case *parse.IfNode:
		return branchUnguarded(&n.BranchNode)
	case *parse.WithNode:
		return branchUnguarded(&n.BranchNode)
	case *parse.RangeNode:
		return branchUnguarded(&n.BranchNode)
	}
	return false
}

func branchUnguarded(b *parse.BranchNode) bool {
	if usesProducts(b.Pipe) {
		return unguarded(b.ElseList) // the body runs only with products
	}
	return unguarded(b.List) || unguarded(b.ElseList)
}

// usesProducts says whether a pipeline reads .First or .Products.
func usesProducts(n parse.Node) bool {
	found := false
	walkNodes(n, func(n parse.Node) {
		if f, ok := n.(*parse.FieldNode); ok && len(f.Ident) > 0 && (f.Ident[0] == "First" || f.Ident[0] == "Products") {
			found = true
		}
	})
	return found
}

// builtinFuncs names the functions a text may call, for parsing alone.
var builtinFuncs = func() map[string]any {
	m := map[string]any{}
	for name := range allowedFuncs {
		m[name] = func() {} // the parser asks only that it exist
	}
	return m
}()

// walkNodes calls fn on every node under n.
func walkNodes(n parse.Node, fn func(parse.Node)) {
	if n == nil {
		return
	}
	fn(n)
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkNodes(c, fn)
		}
	case *parse.ActionNode:
		walkNodes(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkNodes(c, fn)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkNodes(a, fn)
		}
	case *parse.IfNode:
		walkNodes(n.Pipe, fn)
		walkNodes(n.List, fn)
		walkNodes(n.ElseList, fn)
	case *parse.RangeNode:
		walkNodes(n.Pipe, fn)
		walkNodes(n.List, fn)
		walkNodes(n.ElseList, fn)
	case *parse.WithNode:
		walkNodes(n.Pipe, fn)
		walkNodes(n.List, fn)
		walkNodes(n.ElseList, fn)
	}
}
