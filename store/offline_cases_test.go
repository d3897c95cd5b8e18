package store_test

import (
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestStore_ListOfflineCases_ReplyCount checks the first message and the
// reply count a list shows against the detail's replies, on page 1 (the
// keyset read) and on later pages (the day-count walk): a reply is an
// agent's message or a later one of the visitor's, never a note or an event.
func TestStore_ListOfflineCases_ReplyCount(t *testing.T) {
	type msg struct {
		sender models.Sender
		kind   models.Kind
		text   string
	}
	agent := func(text string) msg { return msg{models.SenderAgent, models.KindMessage, text} }
	visitor := func(text string) msg { return msg{models.SenderContact, models.KindMessage, text} }
	tests := []struct {
		name  string
		later []msg
		want  int64
	}{
		{"visitor message only", nil, 0},
		{"agent replies", []msg{agent("a1"), agent("a2")}, 2},
		{"visitor answers an agent", []msg{agent("a1"), visitor("v2"), visitor("v3")}, 3},
		{"visitor writes again unanswered", []msg{visitor("v2")}, 1},
		{"notes and events are not replies", []msg{agent("a1"), {models.SenderAgent, models.KindNote, "n"},
			{models.SenderSystem, models.KindEvent, "e"}, {models.SenderContact, models.KindNote, "cn"}}, 1},
	}
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		ag := storetest.MustAgent(t, s, acct.ID, "ag@example.com", models.RoleAgent, hash)
		ct := storetest.MustContact(t, s, acct.ID, "V", "v@example.com", "")
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		want := map[int64]int64{}
		names := map[int64]string{}
		for i, tt := range tests {
			// A day apart, so that later pages come from the day counts.
			at := base.Add(time.Duration(i) * 24 * time.Hour)
			c := storetest.MustOfflineCase(t, s, acct.ID, ct.ID, tt.name, "first "+tt.name, at)
			for j, m := range tt.later {
				nm := store.NewMessage{Sender: m.sender, Kind: m.kind, Text: m.text, At: at.Add(time.Duration(j+1) * time.Minute)}
				if m.sender == models.SenderAgent {
					nm.AgentID = &ag.ID
				}
				if _, err := s.AddMessage(ctx, acct.ID, c.ID, nm); err != nil {
					t.Fatalf("%s: add %+v: %v", tt.name, m, err)
				}
			}
			want[c.ID], names[c.ID] = tt.want, tt.name
		}
		seen := 0
		for page := int64(1); page <= int64(len(tests)); page++ {
			rows, err := s.ListOfflineCases(ctx, acct.ID, page, 1)
			if err != nil || len(rows) != 1 {
				t.Fatalf("page %d = %d rows, %v; want 1", page, len(rows), err)
			}
			r := rows[0]
			t.Run(names[r.ID], func(t *testing.T) {
				seen++
				if r.ReplyCount != want[r.ID] || r.Message != "first "+names[r.ID] {
					t.Errorf("page %d: %d replies, message %q; want %d, %q", page, r.ReplyCount, r.Message, want[r.ID], "first "+names[r.ID])
				}
				d, err := s.OfflineCase(ctx, acct.ID, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				if d.ReplyCount != r.ReplyCount || int64(len(d.Replies)) != r.ReplyCount {
					t.Errorf("detail: count %d, %d replies; list says %d", d.ReplyCount, len(d.Replies), r.ReplyCount)
				}
			})
		}
		if seen != len(tests) {
			t.Errorf("pages showed %d cases, want %d", seen, len(tests))
		}
	})
}
