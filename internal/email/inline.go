package email

import (
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/cascadia"
	"github.com/aymerick/douceur/css"
	"github.com/aymerick/douceur/inliner"
	"github.com/aymerick/douceur/parser"
	"golang.org/x/net/html"
)

// cssInliner inlines the layout's stylesheet into each email exactly as
// douceur's inliner does, with the work that is the same for every email
// done once per renderer: the stylesheet is parsed once, each kind of
// styled element (its tag, classes and own style) gets its style
// attribute computed once, by douceur itself, and the email is parsed
// once for both the inlining and the plain-text alternative. Anything the
// fast path does not handle falls back to douceur, email by email.
type cssInliner struct {
	selectors []cascadia.Sel // the inlinable selectors, in stylesheet order
	css       string         // the stylesheet as the layout holds it
	rawCSS    string         // what douceur puts back into <head>: the rules it cannot inline
	memo      sync.Map       // element signature -> []html.Attribute to set
}

// errSlowPath says an email needs douceur's own inliner.
var errSlowPath = errors.New("needs the general inliner")

// newCSSInliner prepares the fast path for the stylesheet of a layout's
// source; nil when the stylesheet has selectors it does not handle
// (combinators, attributes, IDs, pseudo-classes).
func newCSSInliner(layout string) *cssInliner {
	start := strings.Index(layout, "<style>")
	end := strings.Index(layout, "</style>")
	if start < 0 || end < start || strings.Contains(layout[start:end], "{{") || strings.Count(layout, "<style") != 1 {
		return nil
	}
	text := layout[start+len("<style>") : end]
	sheet, err := parser.Parse(text)
	if err != nil {
		return nil
	}
	in := &cssInliner{css: text}
	var raw strings.Builder
	for _, rule := range sheet.Rules {
		if rule.Kind != css.QualifiedRule {
			raw.WriteString(rule.String() + "\n")
			continue
		}
		for _, sel := range rule.Selectors {
			if !inliner.Inlinable(sel) || strings.ContainsAny(sel, " >+~[#:*,") {
				return nil
			}
			compiled, err := cascadia.Parse(sel)
			if err != nil {
				return nil
			}
			in.selectors = append(in.selectors, compiled)
		}
	}
	in.rawCSS = raw.String()
	return in
}

// tableContext are tags a one-element document cannot hold where they
// stand (the parser moves them): their style is left to douceur.
var tableContext = map[string]bool{"table": true, "tbody": true, "thead": true, "tfoot": true, "tr": true, "td": true,
	"th": true, "caption": true, "col": true, "colgroup": true, "html": true, "head": true, "body": true}

// inline applies the stylesheet to a parsed email in place, as douceur
// would: style attributes on the matching elements, the <style> element
// replaced by one in <head> with the rules that cannot be inlined.
func (in *cssInliner) inline(doc *html.Node) error {
	var styles, styled []*html.Node
	var head *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "style":
				styles = append(styles, n)
			case n.Data == "head" && head == nil:
				head = n
			}
			for _, sel := range in.selectors {
				if sel.Match(n) {
					styled = append(styled, n)
					break
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(styles) != 1 || head == nil || text(styles[0]) != in.css {
		return errSlowPath
	}
	for _, n := range styled {
		if tableContext[n.Data] {
			return errSlowPath
		}
	}
	for _, n := range styled {
		set, err := in.attrsFor(n)
		if err != nil {
			return err
		}
		for _, a := range set {
			setAttr(n, a)
		}
	}
	styles[0].Parent.RemoveChild(styles[0])
	if in.rawCSS != "" {
		style := &html.Node{Type: html.ElementNode, Data: "style", Attr: []html.Attribute{{Key: "type", Val: "text/css"}}}
		style.AppendChild(&html.Node{Type: html.TextNode, Data: "\n" + in.rawCSS})
		head.AppendChild(style)
	}
	return nil
}

// attrsFor returns the attributes douceur sets on an element like n: its
// style, and those it derives from the style (align, bgcolor, …).
func (in *cssInliner) attrsFor(n *html.Node) ([]html.Attribute, error) {
	class, hasClass := attr(n, "class")
	style, hasStyle := attr(n, "style")
	key := n.Data + "\x00" + strconv.FormatBool(hasClass) + class + "\x00" + strconv.FormatBool(hasStyle) + style
	if v, ok := in.memo.Load(key); ok {
		return v.([]html.Attribute), nil
	}
	// The same element alone in a document with the stylesheet, through
	// douceur: what it sets there is what it sets in any email.
	el := &html.Node{Type: html.ElementNode, Data: n.Data}
	if hasClass {
		el.Attr = append(el.Attr, html.Attribute{Key: "class", Val: class})
	}
	if hasStyle {
		el.Attr = append(el.Attr, html.Attribute{Key: "style", Val: style})
	}
	var b strings.Builder
	if err := html.Render(&b, el); err != nil {
		return nil, err
	}
	out, err := inliner.Inline("<html><head><style>" + in.css + "</style></head><body>" + b.String() + "</body></html>")
	if err != nil {
		return nil, err
	}
	mini, err := html.Parse(strings.NewReader(out))
	if err != nil {
		return nil, err
	}
	var found *html.Node
	var find func(*html.Node)
	find = func(m *html.Node) {
		if found != nil {
			return
		}
		if m.Type == html.ElementNode && m.Data == n.Data {
			found = m
			return
		}
		for c := m.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(mini)
	if found == nil {
		return nil, errSlowPath
	}
	var set []html.Attribute
	for _, a := range found.Attr {
		if a.Key != "class" && (a.Key != "style" || !hasStyle || a.Val != style) {
			set = append(set, a)
		}
	}
	in.memo.Store(key, set)
	return set, nil
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

// setAttr sets an attribute as goquery does: in place, or appended.
func setAttr(n *html.Node, a html.Attribute) {
	for i := range n.Attr {
		if n.Attr[i].Key == a.Key && n.Attr[i].Namespace == "" {
			n.Attr[i].Val = a.Val
			return
		}
	}
	n.Attr = append(n.Attr, a)
}

// text is a node's text, as goquery's Text gives it.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(m *html.Node) {
		if m.Type == html.TextNode {
			b.WriteString(m.Data)
		}
		for c := m.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
