package store

import (
	"strings"
	"testing"
)

// TestQualifiedAgentFields_MatchAgentFields checks that the agent columns
// lockCaseForMessage selects are agentFields, each of the table a, in order.
func TestQualifiedAgentFields_MatchAgentFields(t *testing.T) {
	var want []string
	for _, c := range strings.Split(agentFields, ",") {
		want = append(want, "a."+strings.TrimSpace(c))
	}
	var got []string
	for _, c := range strings.Split(qualifiedAgentFields, ",") {
		got = append(got, strings.TrimSpace(c))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("columns\n got %v\nwant %v", got, want)
	}
}
