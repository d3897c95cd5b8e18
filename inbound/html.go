package inbound

import (
	"io"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"switchboard/models"
)

// htmlPolicy returns the policy an email's HTML is sanitized with for
// display: bluemonday's for user-generated content (formatting, links and
// images kept; scripts, event handlers, styles and forms dropped). It is
// made per message: a Policy must not change once in use, and none is kept
// between calls.
func htmlPolicy() *bluemonday.Policy {
	return bluemonday.UGCPolicy()
}

// truncateHTML returns the sanitized HTML b cut to at most max characters,
// never inside a tag or an entity.
func truncateHTML(b []byte, max int) string {
	t := truncateRunes(b, max)
	if len(t) == len(b) {
		return string(b)
	}
	s := string(t)
	if i := strings.LastIndexByte(s, '<'); i > strings.LastIndexByte(s, '>') {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '&'); i > strings.LastIndexByte(s, ';') {
		s = s[:i]
	}
	return s
}

// isBlock reports whether the element a ends a line of the text made of
// HTML.
func isBlock(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Br, atom.Dd, atom.Div, atom.Dl, atom.Dt,
		atom.Fieldset, atom.Figcaption, atom.Figure, atom.Footer, atom.Form, atom.H1, atom.H2, atom.H3, atom.H4,
		atom.H5, atom.H6, atom.Header, atom.Hr, atom.Li, atom.Main, atom.Nav, atom.Ol, atom.P, atom.Pre,
		atom.Section, atom.Table, atom.Tr, atom.Ul:
		return true
	}
	return false
}

// isHidden reports whether the element a holds no text a reader sees.
func isHidden(a atom.Atom) bool {
	switch a {
	case atom.Head, atom.Script, atom.Style, atom.Title, atom.Template, atom.Noscript:
		return true
	}
	return false
}

// htmlText returns the text of the HTML in r as a reader sees it: entities
// decoded, white space collapsed but in <pre>, a line per block element and
// at most one blank line in a row, at most models.MaxEmailBodyLen
// characters' worth read.
func htmlText(r io.Reader) string {
	z := html.NewTokenizer(r)
	var sb strings.Builder
	hidden, pre := 0, 0
	for sb.Len() < 4*models.MaxEmailBodyLen {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		name, _ := z.TagName()
		a := atom.Lookup(name)
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if isHidden(a) && tt == html.StartTagToken {
				hidden++
			}
			if a == atom.Pre {
				pre++
			}
			if isBlock(a) {
				sb.WriteByte('\n')
			}
		case html.EndTagToken:
			if isHidden(a) && hidden > 0 {
				hidden--
			}
			if a == atom.Pre && pre > 0 {
				pre--
			}
			if isBlock(a) {
				sb.WriteByte('\n')
			}
		case html.TextToken:
			if hidden > 0 {
				continue
			}
			t := string(z.Text())
			if pre == 0 {
				t = collapseSpace(t)
			}
			sb.WriteString(t)
		}
	}
	return tidyLines(sb.String())
}

// collapseSpace turns each run of white space in s into one space.
func collapseSpace(s string) string {
	var sb strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			if !space {
				sb.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		sb.WriteRune(r)
	}
	return sb.String()
}

// tidyLines trims each line and keeps at most one blank line in a row.
func tidyLines(s string) string {
	var out []string
	blank := true
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(strings.TrimLeft(l, " "), " \t\r")
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		blank = false
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
