package store_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestStore_AddEmail_attachments(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		ctx := t.Context()
		pdf := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1000)
		files := []store.NewAttachment{
			{Name: "invoice.pdf", ContentType: "application/pdf", Content: pdf},
			{Name: "logo.png", Content: []byte("\x89PNG"), SourceURL: "https://cdn.example.com/logo.png"},
			{Name: "empty.txt", ContentType: "text/plain; charset=utf-8"},
		}
		t.Run("kept with the message and claimed with it", func(t *testing.T) {
			sm, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, f.email(func(in *store.NewEmail) { in.Attachments = files }))
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				name, typ, url string
				size           int64
				content        []byte
			}{
				{"invoice.pdf", "application/pdf", "", int64(len(pdf)), pdf},
				{"logo.png", "application/octet-stream", "https://cdn.example.com/logo.png", 4, []byte("\x89PNG")},
				{"empty.txt", "text/plain; charset=utf-8", "", 0, []byte{}},
			}
			if len(sm.Attachments) != len(want) {
				t.Fatalf("%d attachments returned, want %d", len(sm.Attachments), len(want))
			}
			for i, a := range sm.Attachments {
				w := want[i]
				if a.ID == 0 || a.MessageID != sm.ID || a.AccountID != f.acct.ID || a.Name != w.name || a.ContentType != w.typ ||
					a.SourceURL != w.url || a.Size != w.size || a.Content != nil {
					t.Errorf("returned attachment %d = %+v, want %+v without content", i, a, w)
				}
			}
			claimed, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail}, 10, time.Minute)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claimed %d, %v", len(claimed), err)
			}
			got := claimed[0].Attachments
			if len(got) != len(want) {
				t.Fatalf("%d attachments claimed, want %d", len(got), len(want))
			}
			for i, a := range got {
				if a.Name != want[i].name || a.ContentType != want[i].typ || !bytes.Equal(a.Content, want[i].content) {
					t.Errorf("claimed attachment %d = %s %s %d bytes, want %s %s %d bytes", i, a.Name, a.ContentType, len(a.Content),
						want[i].name, want[i].typ, len(want[i].content))
				}
			}
		})
		t.Run("refused whole", func(t *testing.T) {
			many := make([]store.NewAttachment, models.MaxAttachments+1)
			for i := range many {
				many[i] = store.NewAttachment{Name: "a.txt", Content: []byte("a")}
			}
			tests := []struct {
				name  string
				files []store.NewAttachment
				want  []string
			}{
				{"bad names and types", []store.NewAttachment{
					{Name: " ", Content: []byte("x")},
					{Name: "../etc/passwd", ContentType: "text/plain\r\nBcc: x@example.com"},
					{Name: strings.Repeat("n", models.MaxAttachmentNameBytes+1), ContentType: "pdf"},
					{Name: "a\nb.txt"},
				}, []string{"attachments[0].name", "attachments[1].name", "attachments[1].content_type", "attachments[2].name",
					"attachments[2].content_type", "attachments[3].name"}},
				{"too many", many, []string{"attachments"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := outboxCounts(t, s, f.acct.ID)
					_, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, f.email(func(in *store.NewEmail) { in.Attachments = tt.files }))
					assertFields(t, err, tt.want)
					if after := outboxCounts(t, s, f.acct.ID); after != before {
						t.Errorf("a refused email wrote: %v → %v", before, after)
					}
				})
			}
		})
	})
}
