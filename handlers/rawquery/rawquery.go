// Package rawquery finds the parameters of a request's query string that
// net/url drops without a word: a pair holding a semicolon (no longer a
// separator since Go 1.17, so "?sort=id;DROP" reads as no sort at all) and a
// pair with a malformed percent escape ("?sort=%zz"). url.Values never shows
// them, so a list route would answer as if they had not been sent; each
// dialect refuses them instead, in its own format, naming the parameter.
package rawquery

import (
	"net/url"
	"strings"
)

// Problem is one parameter net/url drops.
type Problem struct {
	// Param is the parameter's name, unescaped when it can be, as sent
	// otherwise.
	Param string
	// Reason says why, as "holds a semicolon".
	Reason string
}

// Check returns the parameters of the raw query string (URL.RawQuery) that
// url.ParseQuery drops, in the order sent; nil when it drops none.
func Check(raw string) []Problem {
	if !strings.ContainsAny(raw, ";%") {
		// The common case: nothing to drop.
		return nil
	}
	var out []Problem
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		name, keyErr := url.QueryUnescape(key)
		if keyErr != nil {
			name = key
		}
		switch _, valueErr := url.QueryUnescape(value); {
		case strings.Contains(pair, ";"):
			out = append(out, Problem{Param: name, Reason: "holds a semicolon, which is not a separator"})
		case keyErr != nil || valueErr != nil:
			out = append(out, Problem{Param: name, Reason: "has a malformed percent escape"})
		}
	}
	return out
}
